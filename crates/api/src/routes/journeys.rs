//! Journeys and their versions: create, edit drafts, the lifecycle of J1–J9, who is inside.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use sluice_core::channel::ChannelType;
use sluice_core::journey::lifecycle::allowed_actions;
use sluice_core::journey::{
    Journey, JourneyAction, JourneyDefinition, JourneyVersion, JourneyVersionStatus, References,
};
use sluice_store::{Origin, Page, Store, Summary};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{check_name, context, under_brake};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, command_error};
use crate::extract::{JsonBytes, OptionalJson, Path, Query, ReasonBody, decode, decode_value};
use crate::ids::new_id;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_journey, list_journeys))
        .routes(routes!(get_journey, delete_journey))
        .routes(routes!(new_journey_version))
        .routes(routes!(
            get_journey_version,
            put_journey_version,
            delete_journey_version
        ))
        .routes(routes!(publish_journey_version))
        .routes(routes!(close_journey_version))
        .routes(routes!(stop_journey_version))
        .routes(routes!(duplicate_journey_version))
}

/// Checks references against the store; a storage failure reads as "missing" and is logged.
struct StoreRefs<'a>(&'a dyn Store);

impl References for StoreRefs<'_> {
    fn channel_type(&self, id: &str) -> Option<ChannelType> {
        self.0
            .channel(id)
            .inspect_err(|e| tracing::error!(%e, "reading a channel"))
            .ok()
            .flatten()
            .map(|c| c.channel_type)
    }
    fn template_channel_type(&self, id: &str) -> Option<ChannelType> {
        self.0
            .template(id)
            .inspect_err(|e| tracing::error!(%e, "reading a template"))
            .ok()
            .flatten()
            .map(|t| t.channel_type)
    }
    fn audience_exists(&self, id: &str) -> bool {
        self.0.audience(id).ok().flatten().is_some()
    }
    fn journey_exists(&self, id: &str) -> bool {
        self.0.journey(id).ok().flatten().is_some()
    }
}

fn validate(store: &dyn Store, definition: &JourneyDefinition, now: Timestamp) -> ApiResult<()> {
    Ok(definition.validate(&StoreRefs(store), now)?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: u32,
    pub status: JourneyVersionStatus,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub published_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub stopped_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<Timestamp>,
    pub allowed_actions: Vec<JourneyAction>,
}

fn summary(v: &JourneyVersion) -> VersionSummary {
    VersionSummary {
        version: v.version,
        status: v.status,
        created_at: v.created_at,
        published_at: v.published_at,
        closed_at: v.closed_at,
        stopped_at: v.stopped_at,
        finished_at: v.finished_at,
        allowed_actions: allowed_actions(v.status),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JourneyView {
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub live_version: Option<u32>,
    pub draft_version: Option<u32>,
    pub versions: Vec<VersionSummary>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

pub fn view(j: &Journey) -> JourneyView {
    JourneyView {
        id: j.id.clone(),
        name: j.name.clone(),
        live_version: j.live_version().map(|v| v.version),
        draft_version: j.draft_version().map(|v| v.version),
        versions: j.versions.iter().map(summary).collect(),
        created_at: j.created_at,
        updated_at: j.updated_at,
    }
}

/// One version with its definition, shaped as at creation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    #[serde(flatten)]
    pub summary: VersionSummary,
    #[serde(flatten)]
    pub definition: JourneyDefinition,
}

/// `{name, ...definition}`: the definition's own fields beside `name` (optional on PUT).
fn split_body(bytes: &[u8], name_required: bool) -> ApiResult<(Option<String>, JourneyDefinition)> {
    let value: serde_json::Value = decode(bytes)?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(ApiError::field("", "expected a JSON object"));
    };
    let name = match object.remove("name") {
        Some(serde_json::Value::String(name)) => {
            check_name("name", &name)?;
            Some(name)
        }
        Some(_) => return Err(ApiError::field("name", "must be a string")),
        None if name_required => return Err(ApiError::field("name", "missing field `name`")),
        None => None,
    };
    Ok((name, decode_value(serde_json::Value::Object(object))?))
}

/// Create a journey: draft version 1.
#[utoipa::path(post, path = "/api/v1/journeys", tag = "journeys", request_body = JourneyDefinition,
    responses((status = 201, body = JourneyView), (status = 422, body = crate::error::Problem)))]
async fn create_journey(
    State(state): State<AppState>,
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<(StatusCode, axum::Json<JourneyView>)> {
    let (name, definition) = split_body(&body, true)?;
    let ctx = context(&state, &caller, None);
    let journey = state
        .db(move |s| {
            validate(s, &definition, ctx.now)?;
            let journey =
                Journey::new_draft(new_id("jrn"), name.unwrap_or_default(), definition, ctx.now);
            s.insert_journey(&journey, Origin::Created, &ctx)?;
            Ok(journey)
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&journey))))
}

#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys", params(super::ListQuery),
    responses((status = 200, body = Page<JourneyView>)))]
async fn list_journeys(
    State(state): State<AppState>,
    Query(q): Query<super::ListQuery>,
) -> ApiResult<axum::Json<Page<JourneyView>>> {
    let page = q.page()?;
    let page = state.db(move |s| Ok(s.journeys(&page)?)).await?;
    Ok(axum::Json(Page {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub(super) async fn load(state: &AppState, id: String) -> ApiResult<Journey> {
    let missing = format!("no journey `{id}`");
    state
        .db(move |s| Ok(s.journey(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys",
    responses((status = 200, body = JourneyView), (status = 404, body = crate::error::Problem)))]
async fn get_journey(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<JourneyView>> {
    Ok(axum::Json(view(&load(&state, id).await?)))
}

/// Delete a journey whose every version is a draft.
#[utoipa::path(delete, path = "/api/v1/journeys/{id}", tag = "journeys",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_journey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let ctx = context(&state, &caller, None);
    state
        .db(move |s| {
            s.delete_journey(&id, &ctx, &Journey::check_delete)
                .map_err(|e| command_error(e, &format!("journey `{id}`")))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn version_missing(id: &str, n: u32) -> ApiError {
    ApiError::not_found(format!("journey `{id}` has no version {n}"))
}

/// Runs one journey command in the store's transaction.
async fn command(
    state: &AppState,
    caller: &Caller,
    id: String,
    reason: Option<String>,
    mut f: impl FnMut(
        &mut Journey,
        Timestamp,
    ) -> Result<Vec<sluice_core::journey::JourneyTransition>, ApiError>
    + Send
    + 'static,
    validate_version: Option<u32>,
) -> ApiResult<sluice_store::Applied<Journey>> {
    let ctx = context(state, caller, reason);
    state
        .db(move |s| {
            if let Some(n) = validate_version {
                // J2: publishing validates the graph and what it references, as of now.
                let journey = s
                    .journey(&id)?
                    .ok_or_else(|| ApiError::not_found(format!("no journey `{id}`")))?;
                let version = journey.version(n).ok_or_else(|| version_missing(&id, n))?;
                sluice_core::journey::lifecycle::check(version.status, JourneyAction::Publish)?;
                validate(s, &version.definition, ctx.now)?;
            }
            let now = ctx.now;
            let mut failure = None;
            let result = s.apply_journey(&id, &ctx, &mut |j| {
                f(j, now).map_err(|e| {
                    // Not-found and lifecycle refusals travel through the store as a refusal
                    // of nothing; the original error is kept and returned below.
                    failure = Some(e);
                    sluice_core::LifecycleError::Invalid(sluice_core::ValidationErrors::default())
                })
            });
            match (result, failure) {
                (_, Some(e)) => Err(e),
                (Ok(applied), None) => Ok(applied),
                (Err(e), None) => Err(command_error(e, &format!("journey `{id}`"))),
            }
        })
        .await
}

/// New draft N+1 copied from the latest version (J6); 409 while a draft exists.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions", tag = "journeys",
    responses((status = 201, body = JourneyView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn new_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<JourneyView>)> {
    let applied = command(
        &state,
        &caller,
        id,
        None,
        |j, now| Ok(vec![j.new_version(now)?]),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&applied.value))))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/versions/{n}", tag = "journeys",
    responses((status = 200, body = VersionView), (status = 404, body = crate::error::Problem)))]
async fn get_journey_version(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<axum::Json<VersionView>> {
    let journey = load(&state, id.clone()).await?;
    let v = journey.version(n).ok_or_else(|| version_missing(&id, n))?;
    Ok(axum::Json(VersionView {
        summary: summary(v),
        definition: v.definition.clone(),
    }))
}

/// Replace a draft version's definition (`name` optional, renames the journey).
#[utoipa::path(put, path = "/api/v1/journeys/{id}/versions/{n}", tag = "journeys", request_body = JourneyDefinition,
    responses((status = 200, body = VersionView), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<axum::Json<VersionView>> {
    let (name, definition) = split_body(&body, false)?;
    let ctx = context(&state, &caller, None);
    let check_now = ctx.now;
    let def = definition.clone();
    state.db(move |s| validate(s, &def, check_now)).await?;
    let key = id.clone();
    let applied = command(
        &state,
        &caller,
        id,
        None,
        move |j, now| {
            let from = j.version(n).ok_or_else(|| version_missing(&key, n))?.status;
            j.edit(n, definition.clone(), now)
                .ok_or_else(|| version_missing(&key, n))??;
            if let Some(name) = &name {
                j.name.clone_from(name);
            }
            Ok(vec![sluice_core::journey::JourneyTransition {
                action: JourneyAction::Edit,
                version: n,
                from,
                to: from,
                effects: Vec::new(),
            }])
        },
        None,
    )
    .await?;
    let v = applied
        .value
        .version(n)
        .ok_or_else(|| ApiError::internal(&"edited version vanished"))?;
    Ok(axum::Json(VersionView {
        summary: summary(v),
        definition: v.definition.clone(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/journeys/{id}/versions/{n}", tag = "journeys",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<StatusCode> {
    let key = id.clone();
    command(
        &state,
        &caller,
        id,
        None,
        move |j, now| {
            let from = j.version(n).ok_or_else(|| version_missing(&key, n))?.status;
            j.delete_version(n, now)
                .ok_or_else(|| version_missing(&key, n))??;
            Ok(vec![sluice_core::journey::JourneyTransition {
                action: JourneyAction::Delete,
                version: n,
                from,
                to: from,
                effects: Vec::new(),
            }])
        },
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Validate the graph and make the version live (J2); the previous live version closes (J6).
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/publish", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = JourneyView), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn publish_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<JourneyView>> {
    let key = id.clone();
    let applied = command(
        &state,
        &caller,
        id,
        body.reason,
        move |j, now| {
            Ok(j.publish(n, now)
                .ok_or_else(|| version_missing(&key, n))??)
        },
        Some(n),
    )
    .await?;
    Ok(axum::Json(view(&applied.value)))
}

/// Close to new entrances (J3): people inside go on to the end.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/close", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = JourneyView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn close_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<JourneyView>> {
    let key = id.clone();
    let applied = command(
        &state,
        &caller,
        id,
        body.reason,
        move |j, now| {
            Ok(vec![
                j.close(n, now).ok_or_else(|| version_missing(&key, n))??,
            ])
        },
        None,
    )
    .await?;
    Ok(axum::Json(view(&applied.value)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StopResult {
    pub status: JourneyVersionStatus,
    pub summary: Summary,
    pub journey: JourneyView,
}

/// Halt everyone inside at once (J4): when this returns, no further node runs in the version.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/stop", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = StopResult), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn stop_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<StopResult>> {
    // J4/B1: engage the brake first (no new step starts, those in flight settle), so the
    // summary is final and nothing more happens in this version after the call returns.
    let journey = load(&state, id.clone()).await?;
    let status = journey
        .version(n)
        .ok_or_else(|| version_missing(&id, n))?
        .status;
    sluice_core::journey::lifecycle::check(status, JourneyAction::Stop)?;
    let subject = sluice_engine::BrakeSubject::JourneyVersion(id.clone(), n);
    let run = state.clone();
    let applied = under_brake(&state, subject, async move {
        let key = id.clone();
        let stop = move |j: &mut Journey, now| {
            Ok(vec![
                j.stop(n, now).ok_or_else(|| version_missing(&key, n))??,
            ])
        };
        command(&run, &caller, id, body.reason, stop, None).await
    })
    .await;
    let applied = applied?;
    Ok(axum::Json(StopResult {
        status: JourneyVersionStatus::Stopped,
        summary: applied.summary.unwrap_or_default(),
        journey: view(&applied.value),
    }))
}

/// A new journey, draft version 1, copied from this version (J7).
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/duplicate", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 201, body = JourneyView), (status = 404, body = crate::error::Problem)))]
async fn duplicate_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<(StatusCode, axum::Json<JourneyView>)> {
    let source = load(&state, id.clone()).await?;
    let ctx = context(&state, &caller, body.reason);
    let copy = source
        .duplicate(n, new_id("jrn"), ctx.now)
        .ok_or_else(|| version_missing(&id, n))?;
    let stored = copy.clone();
    state
        .db(move |s| Ok(s.insert_journey(&stored, Origin::Duplicated, &ctx)?))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&copy))))
}
