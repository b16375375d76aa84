//! Liquid templates: `check` at save time (syntax errors with their line, size and loop
//! limits), `CompiledTemplate` to parse once and render many times against a JSON context in
//! which anything missing renders empty, with bounded output and an optional time limit.
//!
//! Output is not HTML-escaped: `{{ profile.first_name }}` inserts the attribute as it is,
//! because the same template may feed a webhook (JSON or text) as well as an email; email
//! templates escape explicitly with `| escape`.
//!
//! The variables are `profile.id`, `profile.<attribute>`, `event.<property>`, `campaign.name`
//! and `journey.name`: the context object's top-level keys.

mod bounded;
mod context;
mod date;
mod for_loop;

use std::sync::{Arc, LazyLock, mpsc};
use std::time::Duration;

use bounded::LimitedWriter;
use context::{Node, Root};

/// A loop over a larger literal range is refused when the template is saved; a computed range
/// this large fails the render before it is built.
pub const MAX_LOOP_ITERATIONS: i64 = 10_000;
/// All loops of one render together may run this many iterations, which bounds nested loops.
pub const MAX_RENDER_ITERATIONS: i64 = 100_000;
/// Templates longer than this are refused when saved.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// A render that would produce more than this fails.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// Why a template cannot be saved. `line` is 1-based, when liquid says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct TemplateError {
    pub line: Option<u32>,
    pub message: String,
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

/// The standard library with Sluice's `for`, `tablerow`, `assign`, `capture`, `append`,
/// `prepend` and `date` in place of liquid's (registering a name again replaces it). Built
/// once: it registers about sixty plugins, which is more work than most renders.
static PARSER: LazyLock<Result<liquid::Parser, String>> = LazyLock::new(|| {
    liquid::ParserBuilder::with_stdlib()
        .block(for_loop::ForBlock)
        .block(for_loop::TableRowBlock)
        .block(bounded::CaptureBlock)
        .tag(bounded::AssignTag)
        .filter(bounded::Join { prepend: false })
        .filter(bounded::Join { prepend: true })
        .filter(date::Date)
        .build()
        .map_err(|e| e.to_string())
});

/// Checks a template as it is saved: size, syntax (with the line), and loop limits.
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
    template: Arc<liquid::Template>,
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
                message: format!(
                    "the template is {} bytes long; the limit is {MAX_SOURCE_BYTES}",
                    source.len()
                ),
            });
        }
        let parser = PARSER.as_ref().map_err(|e| TemplateError {
            line: None,
            message: e.clone(),
        })?;
        let template = parser
            .parse(source)
            .map_err(|e| template_error(&e, source))?;
        Ok(CompiledTemplate {
            template: Arc::new(template),
        })
    }

    /// Renders against `context`, a JSON object such as
    /// `{"profile": {"id": "p1", "first_name": "Ann"}, "event": {...}, "campaign": {...}}`.
    pub fn render(&self, context: &serde_json::Value) -> Result<String, RenderError> {
        if !context.is_object() {
            return Err(RenderError::ContextNotObject);
        }
        let root = Root(Node::from_json(context));
        let mut out = LimitedWriter::new();
        if let Err(e) = self.template.render_to(&mut out, &root) {
            return Err(if out.overflow {
                RenderError::OutputTooLarge
            } else {
                RenderError::Failed(first_line(&e.to_string()))
            });
        }
        String::from_utf8(out.buf).map_err(|_| RenderError::Failed("output is not UTF-8".into()))
    }

    /// Renders on a new thread and stops waiting after `limit`. The thread cannot be killed:
    /// it runs on until the template ends or a loop or output limit stops it, so this bounds
    /// the caller's wait, not the work. A thread per message is too slow for bulk sends: the
    /// engine should call `render` on its own worker pool, and use this for previews.
    pub fn render_with_timeout(
        &self,
        context: &serde_json::Value,
        limit: Duration,
    ) -> Result<String, RenderError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let (template, context) = (self.clone(), context.clone());
        std::thread::Builder::new()
            .name("sluice-render".into())
            .spawn(move || {
                // The receiver may have given up; nothing to do about it then.
                let _ = tx.send(template.render(&context));
            })
            .map_err(|e| RenderError::Failed(format!("cannot start a render thread: {e}")))?;
        rx.recv_timeout(limit)
            .unwrap_or(Err(RenderError::Timeout(limit)))
    }
}

/// Turns liquid's error into a line and a one-paragraph message. Parse errors look like
/// `liquid:  --> 3:8\n  |\n3 | {{ x | }}\n  |        ^---\n  |\n  = expected Identifier`,
/// with the line after `-->` and the reason after `= `. An unknown filter comes without a
/// position, so its line is found by looking for `| name` in the source.
fn template_error(error: &liquid::Error, source: &str) -> TemplateError {
    let text = error.to_string();
    let line = text
        .split_once("-->")
        .and_then(|(_, rest)| rest.trim_start().split(':').next())
        .and_then(|n| n.trim().parse::<u32>().ok())
        .or_else(|| filter_line(&text, source));
    let reason: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("= "))
        .collect();
    let message = if reason.is_empty() {
        first_line(&text)
    } else {
        reason.join("; ")
    };
    let detail = requested_name(&text);
    TemplateError {
        line,
        message: format!("{message}{detail}"),
    }
}

/// liquid lists the unknown tag or filter name under `with:`; keep just that name.
fn requested_name(text: &str) -> String {
    requested(text)
        .map(|name| format!(" (`{name}`)"))
        .unwrap_or_default()
}

fn requested(text: &str) -> Option<&str> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("requested"))
        .find_map(|l| l.split_once('='))
        .map(|(_, name)| name.trim())
}

/// The line of the first `| name` (a filter application) in `source`.
fn filter_line(text: &str, source: &str) -> Option<u32> {
    let name = requested(text).filter(|_| text.contains("Unknown filter"))?;
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    source.match_indices(name).find_map(|(at, _)| {
        let before = source[..at].trim_end();
        let after = source[at + name.len()..].chars().next();
        (before.ends_with('|') && !after.is_some_and(is_ident)).then(|| line_of(source, at))
    })
}

/// 1-based line of a byte offset.
fn line_of(source: &str, offset: usize) -> u32 {
    let newlines = source.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(newlines).map_or(u32::MAX, |n| n.saturating_add(1))
}

fn first_line(text: &str) -> String {
    let text = text.trim_start_matches("liquid:").trim();
    text.lines().next().unwrap_or(text).trim().to_owned()
}

#[cfg(test)]
mod tests;
