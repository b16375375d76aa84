//! Event ingest: one event or a batch, written in one transaction; events enter journeys.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_core::ValidationErrors;
use sluice_core::profile::Event;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::extract::JsonBytes;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_events))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    pub profile_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// When it happened (default: now).
    #[schema(value_type = Option<String>)]
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "describes the body in OpenAPI; the handler decodes it by hand"
)]
pub enum EventsBody {
    One(EventBody),
    Many(Vec<EventBody>),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub accepted: usize,
    /// Journey entrances these events caused.
    pub entered: u64,
}

/// Record events (an unknown profile_id creates the profile).
#[utoipa::path(post, path = "/api/v1/events", tag = "events", request_body = EventsBody,
    responses((status = 202, body = Accepted), (status = 422, body = crate::error::Problem)))]
async fn post_events(
    State(state): State<AppState>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<(StatusCode, axum::Json<Accepted>)> {
    // Decoded by hand: an untagged enum would hide which field of which event is wrong.
    let (bodies, batch) = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => (crate::extract::decode::<Vec<EventBody>>(&body)?, true),
        _ => (vec![crate::extract::decode::<EventBody>(&body)?], false),
    };
    let now = state.now();
    let mut errors = ValidationErrors::default();
    let events: Vec<Event> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let event = Event {
                profile_id: b.profile_id,
                name: b.name,
                properties: b.properties,
                timestamp: b.timestamp.unwrap_or(now),
            };
            if let Err(e) = event.validate() {
                errors.extend_under(
                    &if batch {
                        format!("[{i}]")
                    } else {
                        String::new()
                    },
                    e,
                );
            }
            event
        })
        .collect();
    errors.into_result()?;
    let accepted = events.len();
    let entered = state
        .db(move |s| Ok(s.record_events(&events, now)?))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Accepted { accepted, entered }),
    ))
}
