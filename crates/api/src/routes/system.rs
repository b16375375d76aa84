//! Tokens, settings and the test clock.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_store::{NOTIFICATION_WEBHOOK_POSITION, NOTIFICATION_WEBHOOK_URL, NewToken, Role};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::check_name;
use crate::auth::{hash_token, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;
use sluice_commands::new_id;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .routes(routes!(create_token))
        .routes(routes!(get_settings, put_settings));
    // The test clock exists only when the server runs on one; otherwise these paths are 404.
    if state.clock.manual().is_some() {
        router.routes(routes!(get_clock, move_clock))
    } else {
        router
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: String,
    /// The secret, shown only in this answer.
    pub token: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub role: Role,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenBody,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_token(
    State(state): State<AppState>,
    Json(body): Json<TokenBody>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    check_name("name", &body.name)?;
    let secret = new_secret();
    let token = NewToken {
        id: new_id("tok"),
        name: body.name,
        role: body.role,
        hash: hash_token(&secret),
    };
    let now = state.now();
    let created = state.db(move |s| Ok(s.create_token(&token, now)?)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            id: created.id,
            token: secret,
            name: created.name,
            role: created.role,
        }),
    ))
}

#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where notifications are also POSTed (null to stop).
    pub notification_webhook_url: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = Settings)))]
async fn get_settings(State(state): State<AppState>) -> ApiResult<axum::Json<Settings>> {
    let url = state
        .db(|s| Ok(s.setting(NOTIFICATION_WEBHOOK_URL)?))
        .await?;
    Ok(axum::Json(Settings {
        notification_webhook_url: url,
    }))
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", request_body = Settings,
    responses((status = 200, body = Settings), (status = 422, body = crate::error::Problem)))]
async fn put_settings(
    State(state): State<AppState>,
    Json(body): Json<Settings>,
) -> ApiResult<axum::Json<Settings>> {
    if let Some(url) = &body.notification_webhook_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(ApiError::field(
            NOTIFICATION_WEBHOOK_URL,
            "must be an http:// or https:// URL",
        ));
    }
    let url = body.notification_webhook_url.clone();
    state
        .db(move |s| {
            // A newly set webhook receives what happens from now on, not the history.
            if url.is_some() && s.setting(NOTIFICATION_WEBHOOK_URL)?.as_deref() != url.as_deref() {
                let latest = s.latest_notification_position()?.to_string();
                s.put_setting(NOTIFICATION_WEBHOOK_POSITION, Some(&latest))?;
            }
            Ok(s.put_setting(NOTIFICATION_WEBHOOK_URL, url.as_deref())?)
        })
        .await?;
    Ok(axum::Json(body))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    #[schema(value_type = String)]
    pub now: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockMove {
    /// ISO 8601 duration to move forward (`PT1H`).
    pub advance: Option<String>,
    /// An instant to move to (RFC 3339).
    #[schema(value_type = Option<String>)]
    pub set: Option<Timestamp>,
}

#[utoipa::path(get, path = "/api/v1/test/clock", tag = "test", responses((status = 200, body = ClockView)))]
async fn get_clock(State(state): State<AppState>) -> axum::Json<ClockView> {
    axum::Json(ClockView { now: state.now() })
}

/// Move the test clock: `{"advance": "PT1H"}` or `{"set": "<time>"}`. It never goes back.
#[utoipa::path(post, path = "/api/v1/test/clock", tag = "test", request_body = ClockMove,
    responses((status = 200, body = ClockView), (status = 422, body = crate::error::Problem)))]
async fn move_clock(
    State(state): State<AppState>,
    Json(body): Json<ClockMove>,
) -> ApiResult<axum::Json<ClockView>> {
    let clock = state
        .clock
        .manual()
        .ok_or_else(|| ApiError::not_found("no test clock"))?;
    // Leases, back-off and rate limits run in real time, so a jump ends none of them early.
    let now = match (body.advance, body.set) {
        (Some(advance), None) => {
            let d = sluice_core::duration::IsoDuration::parse(&advance)
                .map_err(|e| ApiError::field("advance", e))?;
            clock
                .advance(d.as_span())
                .ok_or_else(|| ApiError::field("advance", "moves the clock out of range"))?
        }
        // Time that runs backwards would make due work run twice or never; refuse it.
        (None, Some(at)) => clock.set_forward(at).map_err(|now| {
            ApiError::field("set", format!("is before the clock's current time {now}"))
        })?,
        _ => {
            return Err(ApiError::field(
                "advance",
                "send exactly one of `advance` or `set`",
            ));
        }
    };
    // Work due by the new time runs now, not at the next poll.
    state.engine.wake();
    Ok(axum::Json(ClockView { now }))
}
