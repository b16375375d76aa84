//! Profiles: create or replace, merge, read, erase, list.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sluice_core::profile::{Attributes, Consent, Profile, validate_id};
use sluice_store::Page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            put_profile,
            patch_profile,
            get_profile,
            delete_profile
        ))
        .routes(routes!(list_profiles))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutProfile {
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    pub consent: Option<Consent>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProfile {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    pub consent: Option<Consent>,
}

/// Create or replace a profile.
#[utoipa::path(put, path = "/api/v1/profiles/{profile_id}", tag = "profiles",
    request_body = PutProfile,
    responses((status = 200, body = Profile, description = "replaced"), (status = 201, body = Profile, description = "created"),
              (status = 422, body = crate::error::Problem)))]
async fn put_profile(
    State(state): State<AppState>,
    Path(profile_id): Path<String>,
    Json(body): Json<PutProfile>,
) -> ApiResult<(StatusCode, axum::Json<Profile>)> {
    validate_id("profile_id", &profile_id)?;
    let now = state.now();
    let profile = Profile {
        id: profile_id,
        attributes: body.attributes,
        consent: body.consent.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    let id = profile.id.clone();
    let created = state
        .db({
            let profile = profile.clone();
            move |s| Ok(s.put_profile(&profile)?)
        })
        .await?;
    let stored = state
        .db(move |s| Ok(s.profile(&id)?))
        .await?
        .unwrap_or(profile);
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        axum::Json(stored),
    ))
}

/// Merge attributes (and consent) into an existing profile.
#[utoipa::path(patch, path = "/api/v1/profiles/{profile_id}", tag = "profiles", request_body = PatchProfile,
    responses((status = 200, body = Profile), (status = 404, body = crate::error::Problem)))]
async fn patch_profile(
    State(state): State<AppState>,
    Path(profile_id): Path<String>,
    Json(body): Json<PatchProfile>,
) -> ApiResult<axum::Json<Profile>> {
    let now = state.now();
    let id = profile_id.clone();
    state
        .db(move |s| Ok(s.patch_profile(&id, &body.attributes, body.consent.as_ref(), now)?))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("no profile `{profile_id}`")))
}

#[utoipa::path(get, path = "/api/v1/profiles/{profile_id}", tag = "profiles",
    responses((status = 200, body = Profile), (status = 404, body = crate::error::Problem)))]
async fn get_profile(
    State(state): State<AppState>,
    Path(profile_id): Path<String>,
) -> ApiResult<axum::Json<Profile>> {
    let id = profile_id.clone();
    state
        .db(move |s| Ok(s.profile(&id)?))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("no profile `{profile_id}`")))
}

/// Erase a profile and its events.
#[utoipa::path(delete, path = "/api/v1/profiles/{profile_id}", tag = "profiles",
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn delete_profile(
    State(state): State<AppState>,
    Path(profile_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = profile_id.clone();
    let now = state.now();
    if state.db(move |s| Ok(s.delete_profile(&id, now)?)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no profile `{profile_id}`")))
    }
}

#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles", params(ListQuery),
    responses((status = 200, body = Page<Profile>)))]
async fn list_profiles(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<Profile>>> {
    let page = q.page()?;
    Ok(axum::Json(state.db(move |s| Ok(s.profiles(&page)?)).await?))
}
