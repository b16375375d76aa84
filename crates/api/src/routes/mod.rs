//! The routes of API.md, one module per noun; `router` assembles them with their OpenAPI paths.

mod audiences;
mod campaign_runs;
mod campaigns;
mod channels;
mod events;
mod import;
mod inbox;
mod journey_profiles;
mod journeys;
mod notifications;
mod profiles;
mod results;
mod system;
mod templates;

use serde::Deserialize;
use sluice_store::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, PageRequest};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

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

/// Completes the generated document where per-handler annotations would only repeat
/// themselves: every response has a description (the status's reason phrase where a handler
/// gave none), errors are documented as `application/problem+json`, and the failures any
/// operation can answer (auth, malformed input, limits, storage) are listed on every operation.
/// Runs on the finished document, after the routes added their paths.
pub fn describe_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let reason = |status: &str| {
        status
            .parse::<u16>()
            .ok()
            .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Response")
            .to_owned()
    };
    let problem = |description: String| {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", content)
                .build(),
        )
    };
    for (path, item) in &mut openapi.paths.paths {
        let has_params = path.contains('{');
        let operations = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ];
        for (operation, takes_body) in operations {
            let Some(operation) = operation else { continue };
            let responses = &mut operation.responses.responses;
            for (status, response) in responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if response.description.is_empty() {
                    response.description = reason(status);
                }
                if (status.starts_with('4') || status.starts_with('5'))
                    && let Some(json) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert("application/problem+json".into(), json);
                }
            }
            let mut common = vec!["401", "403", "422", "500"];
            if has_params {
                common.push("404");
            }
            if takes_body {
                common.extend(["400", "413", "415"]);
            }
            for status in common {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(reason(status)));
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
        .merge(campaign_runs::router())
        .merge(journeys::router())
        .merge(journey_profiles::router())
        .merge(results::router())
        .merge(notifications::router())
}

/// `limit` and `cursor` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(minimum = 1, maximum = 1000)]
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

/// Names must be present and short enough for a list column.
pub fn check_name(field: &str, name: &str) -> ApiResult<()> {
    Ok(sluice_commands::check_name(field, name)?)
}
