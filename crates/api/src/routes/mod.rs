//! The routes of API.md, one module per noun; `router` assembles them with their OpenAPI paths.

mod audiences;
mod campaigns;
mod channels;
mod events;
mod import;
mod inbox;
mod journeys;
mod notifications;
mod profiles;
mod results;
mod system;
mod templates;

use serde::Deserialize;
use sluice_store::{CommandContext, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, PageRequest};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Sluice API", version = "1", description = "Campaigns and journeys with brakes you can trust. Errors are RFC 9457 problem+json."),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// OpenAPI requires a description on every response; where a handler gives none, the status's
/// reason phrase is the honest default. Runs on the finished document (after the routes added
/// their paths).
pub fn describe_responses(openapi: &mut utoipa::openapi::OpenApi) {
    {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in &mut operation.responses.responses {
                    if let utoipa::openapi::RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        response.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("Response")
                            .to_owned();
                    }
                }
            }
        }
    }
}

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router(state))
        .merge(profiles::router())
        .merge(events::router())
        .merge(import::router(state))
        .merge(inbox::router())
        .merge(audiences::router())
        .merge(channels::router())
        .merge(templates::router())
        .merge(campaigns::router())
        .merge(journeys::router())
        .merge(results::router())
        .merge(notifications::router())
}

/// `limit` and `cursor` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn page_request(limit: Option<u32>, cursor: Option<String>) -> ApiResult<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
    if limit == 0 || limit > MAX_PAGE_LIMIT {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {MAX_PAGE_LIMIT}"),
        ));
    }
    Ok(PageRequest { limit, cursor })
}

impl ListQuery {
    pub fn page(self) -> ApiResult<PageRequest> {
        page_request(self.limit, self.cursor)
    }
}

pub fn context(state: &AppState, caller: &Caller, reason: Option<String>) -> CommandContext {
    CommandContext {
        actor: caller.actor.clone(),
        reason,
        now: state.now(),
    }
}

/// Names must be present and short enough for a list column.
pub fn check_name(field: &str, name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if name.len() > 200 {
        return Err(ApiError::field(field, "longer than 200 bytes"));
    }
    Ok(())
}
