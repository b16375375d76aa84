//! Who is inside a journey version (and was), and taking one profile out of the flow (J9).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sluice_commands::Caller;
use sluice_store::{Enrollment, EnrollmentState, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page_request;
use crate::error::{ApiError, ApiResult};
use crate::extract::{OptionalJson, Path, Query, ReasonBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_journey_profiles))
        .routes(routes!(remove_journey_profile))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProfilesQuery {
    /// active, completed, stopped, removed, timed_out or failed.
    #[param(value_type = Option<EnrollmentState>)]
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Who is (or was) inside a version.
#[utoipa::path(get, path = "/api/v1/journeys/{id}/versions/{n}/profiles", tag = "journeys", params(ProfilesQuery),
    responses((status = 200, body = Page<Enrollment>), (status = 404, body = crate::error::Problem)))]
async fn list_journey_profiles(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
    Query(q): Query<ProfilesQuery>,
) -> ApiResult<axum::Json<Page<Enrollment>>> {
    let filter = q
        .state
        .as_deref()
        .map(|s| {
            EnrollmentState::parse(s)
                .ok_or_else(|| ApiError::field("state", format!("unknown state `{s}`")))
        })
        .transpose()?;
    let page = page_request(q.limit, q.cursor)?;
    Ok(axum::Json(
        state
            .commands
            .journeys()
            .enrollments(&id, n, filter, page)
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub removed: bool,
    /// Pending steps cancelled (and recorded in the action log).
    pub cancelled: u64,
}

/// Remove one profile from the flow (J9).
#[utoipa::path(delete, path = "/api/v1/journeys/{id}/versions/{n}/profiles/{profile_id}", tag = "journeys",
    request_body(content = Option<ReasonBody>),
    responses((status = 200, body = Removed), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn remove_journey_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n, profile_id)): Path<(String, u32, String)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<Removed>> {
    let cancelled = state
        .commands
        .journeys()
        .remove_profile(&caller, &id, n, &profile_id, body.reason)
        .await?;
    Ok(axum::Json(Removed {
        removed: true,
        cancelled,
    }))
}
