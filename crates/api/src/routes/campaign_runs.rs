//! A live campaign's runs: API triggers (one message to one profile) and its occurrences.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sluice_core::campaign::CampaignAction;
use sluice_store::{Occurrence, Page, Trigger};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use super::campaigns::load;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use sluice_commands::new_id;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trigger))
        .routes(routes!(occurrences))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    pub profile_id: String,
    /// What the template sees as `event`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TriggerAccepted {
    pub accepted: bool,
    /// `false` when an earlier call with the same `Idempotency-Key` was already accepted.
    pub new: bool,
    pub idempotency_key: String,
}

/// One message to one profile (API-triggered campaigns). Send `Idempotency-Key` to make retries
/// safe.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/trigger", tag = "campaigns", request_body = TriggerBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe key for this trigger")),
    responses((status = 202, body = TriggerAccepted), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn trigger(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<TriggerBody>,
) -> ApiResult<(StatusCode, axum::Json<TriggerAccepted>)> {
    sluice_core::profile::validate_id("profile_id", &body.profile_id)?;
    let campaign = load(&state, id.clone()).await?;
    campaign.check(CampaignAction::Trigger)?;
    let version = campaign.live_version().map_or(1, |v| v.version);
    let client_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if client_key
        .as_deref()
        .is_some_and(|k| k.is_empty() || k.len() > 200)
    {
        return Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }
    let idempotency_key = format!("trg:{id}:{}", client_key.unwrap_or_else(|| new_id("t")));
    let trigger = Trigger {
        campaign_id: id,
        version,
        profile_id: body.profile_id,
        context: serde_json::Value::Object(body.context),
        idempotency_key: idempotency_key.clone(),
        now: state.now(),
    };
    let new = state.db(move |s| Ok(s.enqueue_trigger(&trigger)?)).await?;
    state.engine.wake();
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(TriggerAccepted {
            accepted: true,
            new,
            idempotency_key,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/occurrences", tag = "campaigns", params(ListQuery),
    responses((status = 200, body = Page<Occurrence>), (status = 404, body = crate::error::Problem)))]
async fn occurrences(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<Occurrence>>> {
    let page = q.page()?;
    load(&state, id.clone()).await?;
    Ok(axum::Json(
        state.db(move |s| Ok(s.occurrences(&id, &page)?)).await?,
    ))
}
