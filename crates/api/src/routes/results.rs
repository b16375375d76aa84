//! Results (B2) of a campaign or a journey version: counters, and the action log as pages or CSV.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sluice_store::{ActionFilter, ActionRecord, Outcome, Page, Results, Subject};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page_request;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(campaign_results))
        .routes(routes!(campaign_actions))
        .routes(routes!(journey_results))
        .routes(routes!(journey_actions))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionsQuery {
    /// delivered, failed, skipped, cancelled, removed or timed_out.
    #[param(value_type = Option<Outcome>)]
    pub outcome: Option<String>,
    pub profile_id: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

async fn results(state: AppState, subject: Subject) -> ApiResult<axum::Json<Results>> {
    Ok(axum::Json(state.commands.results(subject).await?))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/results", tag = "results",
    responses((status = 200, body = Results), (status = 404, body = crate::error::Problem)))]
async fn campaign_results(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Results>> {
    results(state, Subject::Campaign { id }).await
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/versions/{n}/results", tag = "results",
    responses((status = 200, body = Results), (status = 404, body = crate::error::Problem)))]
async fn journey_results(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<axum::Json<Results>> {
    results(state, Subject::JourneyVersion { id, version: n }).await
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

async fn actions(
    state: AppState,
    subject: Subject,
    q: ActionsQuery,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| {
            Outcome::parse(o)
                .ok_or_else(|| ApiError::field("outcome", format!("unknown outcome `{o}`")))
        })
        .transpose()?;
    let filter = ActionFilter {
        outcome,
        profile_id: q.profile_id,
    };
    if wants_csv(headers) {
        let stream = state.commands.export_actions(subject, filter).await?;
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            Body::from_stream(stream),
        )
            .into_response());
    }
    let page = page_request(q.limit, q.cursor)?;
    let page: Page<ActionRecord> = state.commands.actions(subject, filter, page).await?;
    Ok(axum::Json(page).into_response())
}

/// The action log, paged; with `Accept: text/csv`, every matching record as CSV.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/results/actions", tag = "results", params(ActionsQuery),
    responses((status = 200, content((Page<ActionRecord> = "application/json"), (String = "text/csv"))), (status = 404, body = crate::error::Problem)))]
async fn campaign_actions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ActionsQuery>,
) -> ApiResult<Response> {
    actions(state, Subject::Campaign { id }, q, &headers).await
}

/// The action log of a journey version, paged; with `Accept: text/csv`, all of it as CSV.
#[utoipa::path(get, path = "/api/v1/journeys/{id}/versions/{n}/results/actions", tag = "results", params(ActionsQuery),
    responses((status = 200, content((Page<ActionRecord> = "application/json"), (String = "text/csv"))), (status = 404, body = crate::error::Problem)))]
async fn journey_actions(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
    headers: HeaderMap,
    Query(q): Query<ActionsQuery>,
) -> ApiResult<Response> {
    actions(
        state,
        Subject::JourneyVersion { id, version: n },
        q,
        &headers,
    )
    .await
}
