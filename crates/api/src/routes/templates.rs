//! Templates: Liquid messages, syntax-checked when saved, previewed for one profile.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_core::ValidationErrors;
use sluice_core::channel::ChannelType;
use sluice_core::template;
use sluice_store::{DeleteOutcome, Page, Template};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListQuery, check_name};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use sluice_commands::new_id;

/// A preview renders off the async threads and gives up after this long.
const PREVIEW_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

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

fn check(body: &TemplateBody) -> ApiResult<()> {
    check_name("name", &body.name)?;
    let mut errors = ValidationErrors::default();
    if body.channel_type == ChannelType::Email
        && body.subject.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        errors.push("subject", "an email template needs a subject");
    }
    if let Some(subject) = &body.subject
        && let Err(e) = template::check(subject)
    {
        errors.push("subject", e.to_string());
    }
    if let Err(e) = template::check(&body.body) {
        errors.push("body", e.to_string());
    }
    Ok(errors.into_result()?)
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = TemplateBody,
    responses((status = 201, body = Template), (status = 422, body = crate::error::Problem, description = "a Liquid syntax error names the line")))]
async fn create_template(
    State(state): State<AppState>,
    Json(body): Json<TemplateBody>,
) -> ApiResult<(StatusCode, axum::Json<Template>)> {
    check(&body)?;
    let now = state.now();
    let template = Template {
        id: new_id("tpl"),
        name: body.name,
        channel_type: body.channel_type,
        subject: body.subject,
        body: body.body,
        created_at: now,
        updated_at: now,
    };
    let stored = template.clone();
    state.db(move |s| Ok(s.insert_template(&stored)?)).await?;
    Ok((StatusCode::CREATED, axum::Json(template)))
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", params(ListQuery),
    responses((status = 200, body = Page<Template>)))]
async fn list_templates(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<Template>>> {
    let page = q.page()?;
    Ok(axum::Json(
        state.db(move |s| Ok(s.templates(&page)?)).await?,
    ))
}

async fn load(state: &AppState, id: String) -> ApiResult<Template> {
    let missing = format!("no template `{id}`");
    state
        .db(move |s| Ok(s.template(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
}

#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates",
    responses((status = 200, body = Template), (status = 404, body = crate::error::Problem)))]
async fn get_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Template>> {
    load(&state, id).await.map(axum::Json)
}

/// Replace a template. Versions that already went live keep rendering the current text: edit
/// with care, or create a new template for a new campaign version.
#[utoipa::path(put, path = "/api/v1/templates/{id}", tag = "templates", request_body = TemplateBody,
    responses((status = 200, body = Template), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<TemplateBody>,
) -> ApiResult<axum::Json<Template>> {
    check(&body)?;
    let mut template = load(&state, id).await?;
    template.name = body.name;
    template.channel_type = body.channel_type;
    template.subject = body.subject;
    template.body = body.body;
    template.updated_at = state.now();
    let stored = template.clone();
    state.db(move |s| Ok(s.update_template(&stored)?)).await?;
    Ok(axum::Json(template))
}

#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let key = id.clone();
    match state.db(move |s| Ok(s.delete_template(&key)?)).await? {
        DeleteOutcome::Deleted => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(ApiError::not_found(format!("no template `{id}`"))),
        DeleteOutcome::InUse(user) => Err(ApiError::conflict(format!(
            "template `{id}` is used by {user}"
        ))),
    }
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
    let template = load(&state, id).await?;
    let profile_id = body.profile_id.clone();
    let profile = state
        .db(move |s| Ok(s.profile(&profile_id)?))
        .await?
        .ok_or_else(|| {
            ApiError::field("profile_id", format!("no profile `{}`", body.profile_id))
        })?;
    let context = serde_json::json!({
        "profile": profile.template_view(),
        "event": body.context,
        "campaign": {"name": ""},
        "journey": {"name": ""},
    });
    // Rendering is CPU work with a time limit: keep it off the async threads.
    let (subject, body) = tokio::task::spawn_blocking(move || {
        let render = |field: &str, source: &str| {
            template::render_with_timeout(source, &context, PREVIEW_TIME_LIMIT)
                .map_err(|e| ApiError::field(field, e.to_string()))
        };
        let subject = template
            .subject
            .as_deref()
            .map(|s| render("subject", s))
            .transpose()?;
        Ok::<_, ApiError>((subject, render("body", &template.body)?))
    })
    .await
    .map_err(ApiError::join_failed)??;
    Ok(axum::Json(Preview { subject, body }))
}
