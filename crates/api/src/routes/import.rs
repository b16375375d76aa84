//! Profile import: NDJSON or CSV, streamed from the request body into one transaction. A bad
//! line is reported and skipped; a defect of the whole file (not UTF-8, a duplicate id, too
//! large) writes nothing.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_TYPE;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sluice_core::profile::{Attributes, Consent, infer_csv_value, validate_id};
use sluice_store::{ImportAbort, ImportRow};
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const BATCH: usize = 5_000;
/// Past this many, bad lines are counted but not listed, so the answer stays readable.
const MAX_LISTED_ERRORS: usize = 1_000;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    // The body is streamed and counted against its own, larger limit.
    OpenApiRouter::new()
        .routes(routes!(import_profiles))
        .layer(DefaultBodyLimit::max(state.limits.max_import_bytes))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub imported: u64,
    pub failed: u64,
    pub errors: Vec<LineError>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NdjsonLine {
    id: String,
    #[serde(default)]
    attributes: Attributes,
    consent: Option<Consent>,
}

#[derive(Clone, Copy)]
enum Format {
    Ndjson,
    Csv,
}

/// Import profiles from NDJSON (`{"id", "attributes", "consent"?}` a line) or CSV (header row,
/// column `id` required, `consent.<channel>` columns set consent, dotted names nest).
#[utoipa::path(post, path = "/api/v1/profiles/import", tag = "profiles",
    request_body(content((String = "application/x-ndjson"), (String = "text/csv"))),
    responses((status = 200, body = ImportResult), (status = 413, body = crate::error::Problem),
              (status = 415, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn import_profiles(
    State(state): State<AppState>,
    req: Request,
) -> ApiResult<axum::Json<ImportResult>> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = match content_type.split(';').next().unwrap_or("").trim() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Format::Ndjson,
        "text/csv" => Format::Csv,
        other => {
            return Err(ApiError::unsupported_media(format!(
                "send application/x-ndjson or text/csv, not `{other}`"
            )));
        }
    };
    let limit = state.limits.max_import_bytes;
    let stream = Body::into_data_stream(req.into_body()).map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let now = state.now();
    state
        .db(move |store| {
            let reader = LimitedReader {
                inner: reader,
                left: limit as u64,
                limit,
            };
            let mut batches = Batches::new(format, reader)?;
            let outcome = store.import_profiles(&mut batches, now)?;
            match outcome {
                Ok(imported) => Ok(axum::Json(ImportResult {
                    imported,
                    failed: batches.failed,
                    errors: batches.errors,
                })),
                Err(abort) if abort.line == 0 && abort.message == TOO_LARGE => {
                    Err(ApiError::too_large(limit))
                }
                Err(abort) => Err(ApiError::field(
                    format!("line {}", abort.line),
                    format!("{}; nothing was imported", abort.message),
                )),
            }
        })
        .await
}

const TOO_LARGE: &str = "too large";

/// Fails the read once more than the limit has arrived.
struct LimitedReader<R> {
    inner: R,
    left: u64,
    limit: usize,
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("over {} bytes", self.limit),
            )
        })?;
        Ok(n)
    }
}

fn io_abort(e: &std::io::Error, line: u64) -> ImportAbort {
    if e.kind() == std::io::ErrorKind::FileTooLarge {
        ImportAbort {
            line: 0,
            message: TOO_LARGE.into(),
        }
    } else {
        ImportAbort {
            line,
            message: format!("reading the body failed: {e}"),
        }
    }
}

enum Source<R: Read> {
    Ndjson {
        lines: BufReader<R>,
        line: u64,
        buf: Vec<u8>,
    },
    Csv {
        reader: csv::Reader<R>,
        columns: Vec<Column>,
        record: csv::ByteRecord,
    },
}

enum Column {
    Id,
    Consent(String),
    Attribute(Vec<String>),
}

/// Parses the body into batches of rows, collecting bad lines on the side.
struct Batches<R: Read> {
    source: Source<R>,
    seen: HashSet<String>,
    failed: u64,
    errors: Vec<LineError>,
    done: bool,
}

impl<R: Read> Batches<R> {
    fn new(format: Format, reader: R) -> ApiResult<Self> {
        let source = match format {
            Format::Ndjson => Source::Ndjson {
                lines: BufReader::new(reader),
                line: 0,
                buf: Vec::new(),
            },
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(reader);
                let headers = reader
                    .byte_headers()
                    .map_err(|e| ApiError::field("header", format!("unreadable CSV header: {e}")))?
                    .clone();
                let columns = headers
                    .iter()
                    .map(|h| {
                        let h = std::str::from_utf8(h)
                            .map_err(|_| ApiError::field("header", "the CSV header is not UTF-8"))?
                            .trim();
                        Ok(if h == "id" {
                            Column::Id
                        } else if let Some(channel) = h.strip_prefix("consent.") {
                            Column::Consent(channel.to_owned())
                        } else {
                            Column::Attribute(h.split('.').map(str::to_owned).collect())
                        })
                    })
                    .collect::<ApiResult<Vec<_>>>()?;
                if !columns.iter().any(|c| matches!(c, Column::Id)) {
                    return Err(ApiError::field(
                        "header",
                        "the CSV header has no `id` column",
                    ));
                }
                Source::Csv {
                    reader,
                    columns,
                    record: csv::ByteRecord::new(),
                }
            }
        };
        Ok(Self {
            source,
            seen: HashSet::new(),
            failed: 0,
            errors: Vec::new(),
            done: false,
        })
    }

    fn bad_line(&mut self, line: u64, message: String) {
        self.failed += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineError { line, message });
        }
    }

    /// The next row, `Ok(None)` at the end, or the defect that aborts the import.
    fn next_row(&mut self) -> Result<Option<ImportRow>, ImportAbort> {
        loop {
            let parsed = match &mut self.source {
                Source::Ndjson { lines, line, buf } => {
                    buf.clear();
                    *line += 1;
                    let n = lines
                        .read_until(b'\n', buf)
                        .map_err(|e| io_abort(&e, *line))?;
                    if n == 0 {
                        return Ok(None);
                    }
                    let text = std::str::from_utf8(buf)
                        .map_err(|_| ImportAbort {
                            line: *line,
                            message: "not UTF-8".into(),
                        })?
                        .trim();
                    if text.is_empty() {
                        continue;
                    }
                    let line = *line;
                    match serde_json::from_str::<NdjsonLine>(text) {
                        Ok(l) => Ok(ImportRow {
                            line,
                            id: l.id,
                            attributes: l.attributes,
                            consent: l.consent,
                        }),
                        Err(e) => Err((line, e.to_string())),
                    }
                }
                Source::Csv {
                    reader,
                    columns,
                    record,
                } => {
                    let more = reader
                        .read_byte_record(record)
                        .map_err(|e| match e.kind() {
                            csv::ErrorKind::Io(io) => {
                                io_abort(io, record.position().map_or(0, csv::Position::line))
                            }
                            _ => ImportAbort {
                                line: e.position().map_or(0, csv::Position::line),
                                message: e.to_string(),
                            },
                        })?;
                    if !more {
                        return Ok(None);
                    }
                    let line = record.position().map_or(0, csv::Position::line);
                    csv_row(columns, record, line)?
                }
            };
            match parsed {
                Ok(row) => {
                    if let Err(e) = validate_id("id", &row.id) {
                        self.bad_line(row.line, e.to_string());
                        continue;
                    }
                    if !self.seen.insert(row.id.clone()) {
                        return Err(ImportAbort {
                            line: row.line,
                            message: format!(
                                "duplicate id `{}` (each profile may appear once per import)",
                                row.id
                            ),
                        });
                    }
                    return Ok(Some(row));
                }
                Err((line, message)) => self.bad_line(line, message),
            }
        }
    }
}

type LineResult = Result<ImportRow, (u64, String)>;

fn csv_row(
    columns: &[Column],
    record: &csv::ByteRecord,
    line: u64,
) -> Result<LineResult, ImportAbort> {
    if record.len() != columns.len() {
        return Ok(Err((
            line,
            format!("expected {} fields, found {}", columns.len(), record.len()),
        )));
    }
    let mut id = String::new();
    let mut attributes = Attributes::new();
    let mut consent: Option<Consent> = None;
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = std::str::from_utf8(cell).map_err(|_| ImportAbort {
            line,
            message: "not UTF-8".into(),
        })?;
        match column {
            Column::Id => cell.trim().clone_into(&mut id),
            Column::Consent(channel) => match cell.trim() {
                "" => {}
                "true" => {
                    consent
                        .get_or_insert_default()
                        .insert(channel.clone(), true);
                }
                "false" => {
                    consent
                        .get_or_insert_default()
                        .insert(channel.clone(), false);
                }
                other => {
                    return Ok(Err((
                        line,
                        format!("consent.{channel} must be true or false, not `{other}`"),
                    )));
                }
            },
            Column::Attribute(path) => {
                if let Some(value) = infer_csv_value(cell) {
                    insert_path(&mut attributes, path, value);
                }
            }
        }
    }
    Ok(Ok(ImportRow {
        line,
        id,
        attributes,
        consent,
    }))
}

fn insert_path(map: &mut Attributes, path: &[String], value: serde_json::Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry(first.clone())
                .or_insert_with(|| serde_json::Value::Object(Attributes::new()));
            if !entry.is_object() {
                *entry = serde_json::Value::Object(Attributes::new());
            }
            if let serde_json::Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

impl<R: Read> Iterator for Batches<R> {
    type Item = Result<Vec<ImportRow>, ImportAbort>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            match self.next_row() {
                Ok(Some(row)) => batch.push(row),
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(abort) => {
                    self.done = true;
                    return Some(Err(abort));
                }
            }
        }
        if batch.is_empty() && self.done {
            None
        } else {
            Some(Ok(batch))
        }
    }
}
