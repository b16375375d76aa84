//! Audiences: named rules over attributes and events.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_core::ValidationErrors;
use sluice_core::rule::Rule;
use sluice_store::{Audience, DeleteOutcome, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListQuery, check_name};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use sluice_commands::new_id;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_audience, list_audiences))
        .routes(routes!(get_audience, put_audience, delete_audience))
        .routes(routes!(count_audience))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `{"all"|"any": [rule…]}`, `{"not": rule}`, `{"attr", "op", "value"}` or
    /// `{"event", "op": "count_gte"|"count_lt", "value", "within"?}`.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

fn parse(body: &AudienceBody) -> ApiResult<Rule> {
    check_name("name", &body.name)?;
    Rule::parse(&body.rule).map_err(|e| {
        let mut under = ValidationErrors::default();
        under.extend_under("rule", e);
        ApiError::invalid(under)
    })
}

#[utoipa::path(post, path = "/api/v1/audiences", tag = "audiences", request_body = AudienceBody,
    responses((status = 201, body = Audience), (status = 422, body = crate::error::Problem)))]
async fn create_audience(
    State(state): State<AppState>,
    Json(body): Json<AudienceBody>,
) -> ApiResult<(StatusCode, axum::Json<Audience>)> {
    let rule = parse(&body)?;
    let now = state.now();
    let audience = Audience {
        id: new_id("aud"),
        name: body.name,
        rule,
        created_at: now,
        updated_at: now,
    };
    let stored = audience.clone();
    state.db(move |s| Ok(s.insert_audience(&stored)?)).await?;
    Ok((StatusCode::CREATED, axum::Json(audience)))
}

#[utoipa::path(get, path = "/api/v1/audiences", tag = "audiences", params(ListQuery),
    responses((status = 200, body = Page<Audience>)))]
async fn list_audiences(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<Audience>>> {
    let page = q.page()?;
    Ok(axum::Json(
        state.db(move |s| Ok(s.audiences(&page)?)).await?,
    ))
}

async fn load(state: &AppState, id: String) -> ApiResult<Audience> {
    let missing = format!("no audience `{id}`");
    state
        .db(move |s| Ok(s.audience(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
}

#[utoipa::path(get, path = "/api/v1/audiences/{id}", tag = "audiences",
    responses((status = 200, body = Audience), (status = 404, body = crate::error::Problem)))]
async fn get_audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Audience>> {
    load(&state, id).await.map(axum::Json)
}

#[utoipa::path(put, path = "/api/v1/audiences/{id}", tag = "audiences", request_body = AudienceBody,
    responses((status = 200, body = Audience), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<AudienceBody>,
) -> ApiResult<axum::Json<Audience>> {
    let rule = parse(&body)?;
    let mut audience = load(&state, id).await?;
    audience.name = body.name;
    audience.rule = rule;
    audience.updated_at = state.now();
    let stored = audience.clone();
    state.db(move |s| Ok(s.update_audience(&stored)?)).await?;
    Ok(axum::Json(audience))
}

/// Delete an audience; 409 while a non-draft campaign or journey version uses it.
#[utoipa::path(delete, path = "/api/v1/audiences/{id}", tag = "audiences",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let key = id.clone();
    match state.db(move |s| Ok(s.delete_audience(&key)?)).await? {
        DeleteOutcome::Deleted => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(ApiError::not_found(format!("no audience `{id}`"))),
        DeleteOutcome::InUse(user) => Err(ApiError::conflict(format!(
            "audience `{id}` is used by {user}"
        ))),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub count: u64,
}

/// How many profiles the audience holds now.
#[utoipa::path(get, path = "/api/v1/audiences/{id}/count", tag = "audiences",
    responses((status = 200, body = Count), (status = 404, body = crate::error::Problem)))]
async fn count_audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Count>> {
    let audience = load(&state, id).await?;
    let now = state.now();
    let count = state
        .db(move |s| Ok(s.audience_count(&audience.rule, now)?))
        .await?;
    Ok(axum::Json(Count { count }))
}
