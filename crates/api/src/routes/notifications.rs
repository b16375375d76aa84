//! Notifications (B3) and the audit log of every lifecycle command.

use axum::extract::State;
use serde::Deserialize;
use sluice_commands::Caller;
use sluice_store::{AuditEntry, Notification, Page, Subject};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page_request;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(mark_read))
        .routes(routes!(audit))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    pub unread: Option<bool>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationsQuery),
    responses((status = 200, body = Page<Notification>)))]
async fn list_notifications(
    State(state): State<AppState>,
    Query(q): Query<NotificationsQuery>,
) -> ApiResult<axum::Json<Page<Notification>>> {
    let page = page_request(q.limit, q.cursor)?;
    let unread = q.unread.unwrap_or(false);
    Ok(axum::Json(
        state.commands.notifications(unread, page).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    responses((status = 200, body = Notification), (status = 404, body = crate::error::Problem)))]
async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Notification>> {
    Ok(axum::Json(
        state.commands.mark_notification_read(&caller, &id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `campaign:{id}` or `journey:{id}`.
    pub subject: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Every lifecycle command, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 422, body = crate::error::Problem)))]
async fn audit(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<Page<AuditEntry>>> {
    let subject = q
        .subject
        .as_deref()
        .map(|s| match s.split_once(':') {
            Some(("campaign", id)) if !id.is_empty() => Ok(Subject::Campaign { id: id.to_owned() }),
            Some(("journey", id)) if !id.is_empty() => Ok(Subject::Journey { id: id.to_owned() }),
            _ => Err(ApiError::field(
                "subject",
                "expected `campaign:<id>` or `journey:<id>`",
            )),
        })
        .transpose()?;
    let page = page_request(q.limit, q.cursor)?;
    Ok(axum::Json(state.commands.audit(subject, page).await?))
}
