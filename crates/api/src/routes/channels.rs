//! Channels (admin): where messages go. Secrets are stored but never returned.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_commands::{Caller, ChannelInput};
use sluice_core::channel::ChannelType;
use sluice_store::{Channel, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

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

impl From<ChannelBody> for ChannelInput {
    fn from(body: ChannelBody) -> Self {
        Self {
            name: body.name,
            channel_type: body.channel_type,
            config: body.config,
            rate_limit_per_second: body.rate_limit_per_second,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = ChannelBody,
    responses((status = 201, body = ChannelView), (status = 422, body = crate::error::Problem)))]
async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ChannelBody>,
) -> ApiResult<(StatusCode, axum::Json<ChannelView>)> {
    let channel = state
        .commands
        .channels()
        .create(&caller, body.into())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(ChannelView { channel })))
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", params(ListQuery),
    responses((status = 200, body = Page<ChannelView>)))]
async fn list_channels(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<ChannelView>>> {
    let page = state.commands.channels().list(q.page()?).await?;
    Ok(axum::Json(Page {
        items: page
            .items
            .into_iter()
            .map(|channel| ChannelView { channel })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels",
    responses((status = 200, body = ChannelView), (status = 404, body = crate::error::Problem)))]
async fn get_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ChannelView>> {
    let channel = state.commands.channels().get(&id).await?;
    Ok(axum::Json(ChannelView { channel }))
}

/// Replace a channel's settings. Its type never changes (templates and campaigns rely on it);
/// a password or header value sent back as `<redacted>` (or left out) keeps the stored secret.
#[utoipa::path(put, path = "/api/v1/channels/{id}", tag = "channels", request_body = ChannelBody,
    responses((status = 200, body = ChannelView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ChannelBody>,
) -> ApiResult<axum::Json<ChannelView>> {
    let channel = state
        .commands
        .channels()
        .update(&caller, &id, body.into())
        .await?;
    Ok(axum::Json(ChannelView { channel }))
}

#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.commands.channels().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
