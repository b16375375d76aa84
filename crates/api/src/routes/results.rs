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

async fn exists(state: &AppState, subject: &Subject) -> ApiResult<()> {
    let s = subject.clone();
    let found = state
        .db(move |store| {
            Ok(match &s {
                Subject::Campaign { id } => store.campaign(id)?.is_some(),
                Subject::JourneyVersion { id, version } => store
                    .journey(id)?
                    .is_some_and(|j| j.version(*version).is_some()),
                Subject::Journey { id } => store.journey(id)?.is_some(),
            })
        })
        .await?;
    if found {
        Ok(())
    } else {
        Err(ApiError::not_found(match subject {
            Subject::Campaign { id } => format!("no campaign `{id}`"),
            Subject::JourneyVersion { id, version } => {
                format!("no journey `{id}` version {version}")
            }
            Subject::Journey { id } => format!("no journey `{id}`"),
        }))
    }
}

async fn results(state: AppState, subject: Subject) -> ApiResult<axum::Json<Results>> {
    exists(&state, &subject).await?;
    Ok(axum::Json(
        state.db(move |s| Ok(s.results(&subject)?)).await?,
    ))
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
    exists(&state, &subject).await?;
    if wants_csv(headers) {
        return Ok(csv_export(&state, subject, filter));
    }
    let page = page_request(q.limit, q.cursor)?;
    let page: Page<ActionRecord> = state
        .db(move |s| Ok(s.actions(&subject, &filter, &page)?))
        .await?;
    Ok(axum::Json(page).into_response())
}

/// Every matching record as CSV, streamed while the store reads (no paging, bounded memory).
fn csv_export(state: &AppState, subject: Subject, filter: ActionFilter) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    let store = std::sync::Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || {
        let buffer = SharedBuffer::default();
        let mut writer = csv::Writer::from_writer(buffer.clone());
        let header = [
            "at",
            "profile_id",
            "version",
            "occurrence",
            "node_id",
            "channel_id",
            "action",
            "outcome",
            "detail",
        ];
        let _ = writer.write_record(header);
        let send = |writer: &mut csv::Writer<SharedBuffer>| {
            let _ = writer.flush();
            let chunk = std::mem::take(&mut *buffer.0.borrow_mut());
            chunk.is_empty() || tx.blocking_send(Ok(chunk)).is_ok()
        };
        // The answer is under way (200 and the first rows may be sent): a failure or a panic
        // can only cut the body short, which the client sees as an error, never as a whole file.
        let export = std::panic::AssertUnwindSafe(|| {
            store.for_each_action(&subject, &filter, &mut |a| {
                let _ = writer.write_record([
                    a.at.to_string(),
                    a.profile_id.clone(),
                    a.version.to_string(),
                    a.occurrence.map(|o| o.to_string()).unwrap_or_default(),
                    a.node_id.clone().unwrap_or_default(),
                    a.channel_id.clone().unwrap_or_default(),
                    a.action.clone(),
                    a.outcome.as_str().to_owned(),
                    a.detail.clone().unwrap_or_default(),
                ]);
                // Hand over a chunk every 64 KiB; stop reading if the client went away.
                buffer.0.borrow().len() < 64 * 1024 || send(&mut writer)
            })
        });
        let result = std::panic::catch_unwind(export).unwrap_or_else(|panic| {
            crate::error::log_panic(panic.as_ref());
            Err(sluice_store::StoreError::Backend(
                "the export panicked".into(),
            ))
        });
        if let Err(e) = result {
            tracing::error!(%e, "CSV export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        } else {
            send(&mut writer);
        }
    });
    let stream = tokio_stream_from(rx);
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
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

/// The CSV writer's output, taken in chunks while it writes.
#[derive(Clone, Default)]
struct SharedBuffer(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
