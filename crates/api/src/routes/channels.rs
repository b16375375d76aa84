//! Channels (admin): where messages go. Secrets are stored but never returned.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_core::channel::{ChannelType, keep_secrets, parse_config, redact_config};
use sluice_store::{Channel, DeleteOutcome, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListQuery, check_name};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use sluice_commands::new_id;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_channel, list_channels))
        .routes(routes!(get_channel, put_channel, delete_channel))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    /// webhook `{url, headers?, timeout?}`; email `{host, port, tls, username?, password?, from}`;
    /// inbox `{}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub rate_limit_per_second: Option<u32>,
}

/// A channel as shown: secrets replaced by `<redacted>`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    #[serde(flatten)]
    pub channel: Channel,
}

fn view(mut channel: Channel) -> ChannelView {
    channel.config = redact_config(&channel.config);
    ChannelView { channel }
}

fn check(body: &mut ChannelBody) -> ApiResult<serde_json::Value> {
    check_name("name", &body.name)?;
    if body.rate_limit_per_second == Some(0) {
        return Err(ApiError::field(
            "rate_limit_per_second",
            "must be at least 1 (omit it for no limit)",
        ));
    }
    if body.config.is_null() {
        body.config = serde_json::json!({});
    }
    Ok(parse_config(body.channel_type, &body.config)?)
}

#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = ChannelBody,
    responses((status = 201, body = ChannelView), (status = 422, body = crate::error::Problem)))]
async fn create_channel(
    State(state): State<AppState>,
    Json(mut body): Json<ChannelBody>,
) -> ApiResult<(StatusCode, axum::Json<ChannelView>)> {
    let config = check(&mut body)?;
    let now = state.now();
    let channel = Channel {
        id: new_id("chn"),
        name: body.name,
        channel_type: body.channel_type,
        config,
        rate_limit_per_second: body.rate_limit_per_second,
        created_at: now,
        updated_at: now,
    };
    let stored = channel.clone();
    state.db(move |s| Ok(s.insert_channel(&stored)?)).await?;
    Ok((StatusCode::CREATED, axum::Json(view(channel))))
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", params(ListQuery),
    responses((status = 200, body = Page<ChannelView>)))]
async fn list_channels(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<ChannelView>>> {
    let page = q.page()?;
    let page = state.db(move |s| Ok(s.channels(&page)?)).await?;
    Ok(axum::Json(Page {
        items: page.items.into_iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn load(state: &AppState, id: String) -> ApiResult<Channel> {
    let missing = format!("no channel `{id}`");
    state
        .db(move |s| Ok(s.channel(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels",
    responses((status = 200, body = ChannelView), (status = 404, body = crate::error::Problem)))]
async fn get_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ChannelView>> {
    load(&state, id).await.map(|c| axum::Json(view(c)))
}

/// Replace a channel's settings. Its type never changes (templates and campaigns rely on it);
/// a password or header value sent back as `<redacted>` (or left out) keeps the stored secret.
#[utoipa::path(put, path = "/api/v1/channels/{id}", tag = "channels", request_body = ChannelBody,
    responses((status = 200, body = ChannelView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(mut body): Json<ChannelBody>,
) -> ApiResult<axum::Json<ChannelView>> {
    let mut config = check(&mut body)?;
    let mut channel = load(&state, id).await?;
    if channel.channel_type != body.channel_type {
        return Err(ApiError::field(
            "type",
            format!(
                "a channel's type cannot change (it is {}); create a new channel",
                channel.channel_type.as_str()
            ),
        ));
    }
    keep_secrets(&mut config, &channel.config);
    channel.name = body.name;
    channel.config = config;
    channel.rate_limit_per_second = body.rate_limit_per_second;
    channel.updated_at = state.now();
    let stored = channel.clone();
    state.db(move |s| Ok(s.update_channel(&stored)?)).await?;
    Ok(axum::Json(view(channel)))
}

#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let key = id.clone();
    match state.db(move |s| Ok(s.delete_channel(&key)?)).await? {
        DeleteOutcome::Deleted => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(ApiError::not_found(format!("no channel `{id}`"))),
        DeleteOutcome::InUse(user) => Err(ApiError::conflict(format!(
            "channel `{id}` is used by {user}"
        ))),
    }
}
