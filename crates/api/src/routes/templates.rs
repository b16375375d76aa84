//! Templates: Liquid messages, syntax-checked when saved, previewed for one profile.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_commands::{Caller, TemplateInput};
use sluice_core::channel::ChannelType;
use sluice_store::{Page, Template};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_template, list_templates))
        .routes(routes!(get_template, put_template, delete_template))
        .routes(routes!(preview_template))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub channel_type: ChannelType,
    /// Liquid; required for email.
    pub subject: Option<String>,
    /// Liquid: `{{ profile.first_name | default: "there" }}`, `{{ event.order }}`, `{{ campaign.name }}`.
    pub body: String,
}

impl From<TemplateBody> for TemplateInput {
    fn from(body: TemplateBody) -> Self {
        Self {
            name: body.name,
            channel_type: body.channel_type,
            subject: body.subject,
            body: body.body,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = TemplateBody,
    responses((status = 201, body = Template), (status = 422, body = crate::error::Problem, description = "a Liquid syntax error names the line")))]
async fn create_template(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<TemplateBody>,
) -> ApiResult<(StatusCode, axum::Json<Template>)> {
    let template = state
        .commands
        .templates()
        .create(&caller, body.into())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(template)))
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", params(ListQuery),
    responses((status = 200, body = Page<Template>)))]
async fn list_templates(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<Template>>> {
    Ok(axum::Json(
        state.commands.templates().list(q.page()?).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates",
    responses((status = 200, body = Template), (status = 404, body = crate::error::Problem)))]
async fn get_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Template>> {
    Ok(axum::Json(state.commands.templates().get(&id).await?))
}

/// Replace a template. Versions that already went live keep rendering the current text: edit
/// with care, or create a new template for a new campaign version.
#[utoipa::path(put, path = "/api/v1/templates/{id}", tag = "templates", request_body = TemplateBody,
    responses((status = 200, body = Template), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<TemplateBody>,
) -> ApiResult<axum::Json<Template>> {
    let template = state
        .commands
        .templates()
        .update(&caller, &id, body.into())
        .await?;
    Ok(axum::Json(template))
}

#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.commands.templates().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    pub profile_id: String,
    /// What the template sees as `event` (a trigger's context or an event's properties).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub subject: Option<String>,
    pub body: String,
}

/// Render a template for one profile.
#[utoipa::path(post, path = "/api/v1/templates/{id}/preview", tag = "templates", request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn preview_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<PreviewBody>,
) -> ApiResult<axum::Json<Preview>> {
    let rendered = state
        .commands
        .templates()
        .preview(&id, &body.profile_id, body.context)
        .await?;
    Ok(axum::Json(Preview {
        subject: rendered.subject,
        body: rendered.body,
    }))
}
