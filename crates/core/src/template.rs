//! Liquid templates: `check` at save time (syntax errors with their line and column, size and
//! loop limits), `CompiledTemplate` to parse once and render many times against a JSON context
//! in which anything missing renders empty, with bounded output and an optional time limit.
//! A thin layer over `sluice-liquid`, which holds the engine.
//!
//! Output is not HTML-escaped: `{{ profile.first_name }}` inserts the attribute as it is,
//! because the same template may feed a webhook (JSON or text) as well as an email; email
//! templates escape explicitly with `| escape`.
//!
//! The variables are `profile.id`, `profile.<attribute>`, `event.<property>`, `campaign.name`
//! and `journey.name`: the context object's top-level keys.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_liquid::{Limits, RenderOptions, Template};

/// A loop over a larger literal range is refused when the template is saved; a computed range
/// this large fails the render before it is built.
pub const MAX_LOOP_ITERATIONS: i64 = 10_000;
/// All loops of one render together may run this many iterations, which bounds nested loops.
pub const MAX_RENDER_ITERATIONS: i64 = 100_000;
/// Templates longer than this are refused when saved.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// A render that would produce more than this fails.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// Why a template cannot be saved. `line` and `column` are 1-based, when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", position(*line, *column))]
pub struct TemplateError {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

fn position(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

/// Why a render failed. The message is meant for the action log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("invalid template: {0}")]
    Template(#[from] TemplateError),
    #[error("the render context must be a JSON object")]
    ContextNotObject,
    #[error("the rendered output is larger than {MAX_OUTPUT_BYTES} bytes")]
    OutputTooLarge,
    #[error("rendering took longer than {0:?}")]
    Timeout(Duration),
    #[error("rendering failed: {0}")]
    Failed(String),
}

fn limits() -> Limits {
    Limits {
        max_loop_iterations: MAX_LOOP_ITERATIONS.unsigned_abs(),
        max_render_iterations: MAX_RENDER_ITERATIONS.unsigned_abs(),
        max_output_bytes: MAX_OUTPUT_BYTES,
        // A Sluice template stands alone: a partial would fail every message at render.
        partials: false,
        ..Limits::default()
    }
}

/// Checks a template as it is saved: size, syntax (with line and column), and loop limits.
pub fn check(source: &str) -> Result<(), TemplateError> {
    CompiledTemplate::compile(source).map(|_| ())
}

/// Compiles and renders once. The engine should keep a `CompiledTemplate` instead.
pub fn render(source: &str, context: &serde_json::Value) -> Result<String, RenderError> {
    CompiledTemplate::compile(source)?.render(context)
}

/// `render`, giving up after `limit`. See `CompiledTemplate::render_with_timeout`.
pub fn render_with_timeout(
    source: &str,
    context: &serde_json::Value,
    limit: Duration,
) -> Result<String, RenderError> {
    CompiledTemplate::compile(source)?.render_with_timeout(context, limit)
}

/// A parsed template; cheap to clone and shareable between threads.
#[derive(Clone)]
pub struct CompiledTemplate {
    template: Arc<Template>,
}

impl std::fmt::Debug for CompiledTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompiledTemplate")
    }
}

impl CompiledTemplate {
    pub fn compile(source: &str) -> Result<CompiledTemplate, TemplateError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(TemplateError {
                line: None,
                column: None,
                message: format!(
                    "the template is {} bytes long; the limit is {MAX_SOURCE_BYTES}",
                    source.len()
                ),
            });
        }
        // The engine is written never to panic; should it, the template is refused rather
        // than the request (or the worker) brought down.
        let parsed = catch_unwind(|| Template::parse_with(source, &limits())).map_err(|_| {
            TemplateError {
                line: None,
                column: None,
                message: "the template could not be parsed (internal error)".into(),
            }
        })?;
        match parsed {
            Ok(template) => Ok(CompiledTemplate {
                template: Arc::new(template),
            }),
            Err(sluice_liquid::Error::Parse {
                line,
                column,
                message,
            }) => Err(TemplateError {
                line: Some(line),
                column: Some(column),
                message,
            }),
            Err(other) => Err(TemplateError {
                line: None,
                column: None,
                message: other.to_string(),
            }),
        }
    }

    /// Renders against `context`, a JSON object such as
    /// `{"profile": {"id": "p1", "first_name": "Ann"}, "event": {...}, "campaign": {...}}`.
    pub fn render(&self, context: &serde_json::Value) -> Result<String, RenderError> {
        self.render_until(context, None)
    }

    /// Renders, failing with `Timeout` once `limit` has passed. The engine checks the time as
    /// it goes (every few dozen nodes and loop iterations), so the work stops too, on the
    /// caller's thread.
    pub fn render_with_timeout(
        &self,
        context: &serde_json::Value,
        limit: Duration,
    ) -> Result<String, RenderError> {
        let deadline = Instant::now().checked_add(limit);
        self.render_until(context, deadline).map_err(|e| match e {
            RenderError::Failed(m) if m == DEADLINE => RenderError::Timeout(limit),
            other => other,
        })
    }

    fn render_until(
        &self,
        context: &serde_json::Value,
        deadline: Option<Instant>,
    ) -> Result<String, RenderError> {
        if !context.is_object() {
            return Err(RenderError::ContextNotObject);
        }
        let options = RenderOptions {
            limits: limits(),
            deadline,
            partials: None,
            now: Some(jiff::Timestamp::now()),
        };
        let rendered = catch_unwind(AssertUnwindSafe(|| {
            self.template.render_json(context, &options)
        }))
        .map_err(|_| {
            RenderError::Failed("the template could not be rendered (internal error)".into())
        })?;
        rendered.map_err(|e| match e {
            sluice_liquid::Error::OutputTooLarge(_) => RenderError::OutputTooLarge,
            sluice_liquid::Error::Deadline => RenderError::Failed(DEADLINE.into()),
            other => RenderError::Failed(other.to_string()),
        })
    }
}

const DEADLINE: &str = "the render passed its deadline";

#[cfg(test)]
mod tests;
