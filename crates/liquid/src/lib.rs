//! Sluice's Liquid engine: Shopify's Liquid tags and filters, parsed once into a shareable
//! `Template` and rendered against a context `Value`, with every render bounded (loop
//! iterations, output size, partial depth, an optional deadline) and no input able to panic.
//!
//! Missing variables render empty and missing properties are nil, as in Shopify's default
//! (lax) mode; syntax errors are reported at parse time with a 1-based line and column.
//!
//! ```
//! use sluice_liquid::{RenderOptions, Template};
//!
//! let template = Template::parse("Hi {{ profile.first_name | default: 'there' }}!")?;
//! let context = serde_json::json!({"profile": {"first_name": "Ann"}});
//! let out = template.render_json(&context, &RenderOptions::default())?;
//! assert_eq!(out, "Hi Ann!");
//! # Ok::<(), sluice_liquid::Error>(())
//! ```

#![forbid(unsafe_code)]

mod ast;
mod context;
mod date;
mod expr;
mod filters;
mod lexer;
mod parser;
mod render;
mod tags;
mod value;

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Instant;

pub use value::{Object, Value};

/// The bounds of a parse and a render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A `for` over a literal range longer than this is refused at parse time, and a computed
    /// range longer than this fails the render.
    pub max_loop_iterations: u64,
    /// All loops of one render together may run this many iterations; it also bounds the
    /// length of any array a filter builds (a range expanded, `split`, `concat`).
    pub max_render_iterations: u64,
    /// The rendered output (and any one captured or filtered string) may not be larger.
    pub max_output_bytes: usize,
    /// `include` and `render` may nest this deep.
    pub max_partial_depth: usize,
    /// The filters of one render together may process this many items: each call counts
    /// the items of an array or range it is given, or a 64th of a string's bytes. With
    /// the iteration budget this bounds a render's work even without a deadline.
    pub max_filter_work: u64,
    /// Whether `include` and `render` may be used at all. Without partials to render they
    /// are refused at parse time (where they are), not at every render.
    pub partials: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_loop_iterations: 10_000,
            max_render_iterations: 100_000,
            max_output_bytes: 256 * 1024,
            max_partial_depth: 16,
            max_filter_work: 20_000_000,
            partials: true,
        }
    }
}

/// Where `include` and `render` find partials, by name.
pub trait Partials: Sync {
    fn source(&self, name: &str) -> Option<Cow<'_, str>>;
}

impl Partials for HashMap<String, String> {
    fn source(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|s| Cow::Borrowed(s.as_str()))
    }
}

/// How to render: bounds, an optional deadline, and the partials.
#[derive(Default)]
pub struct RenderOptions<'a> {
    pub limits: Limits,
    /// Checked every few dozen nodes and loop iterations; the render fails once it passes.
    pub deadline: Option<Instant>,
    pub partials: Option<&'a dyn Partials>,
    /// The time `date` uses for `"now"` and `"today"`; the engine never reads the clock.
    pub now: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template cannot be parsed. `line` and `column` are 1-based (the column counts
    /// characters).
    #[error("line {line}, column {column}: {message}")]
    Parse {
        line: u32,
        column: u32,
        message: String,
    },
    /// Rendering failed: a filter refused its input, a loop or size bound was reached.
    #[error("{0}")]
    Render(String),
    #[error("the rendered output is larger than {0} bytes")]
    OutputTooLarge(usize),
    #[error("rendering passed its deadline")]
    Deadline,
}

/// A parsed template: immutable, `Send + Sync`, render it any number of times.
#[derive(Debug)]
pub struct Template {
    nodes: Vec<ast::Node>,
}

impl Template {
    /// Parses with the default limits.
    pub fn parse(source: &str) -> Result<Template, Error> {
        Template::parse_with(source, &Limits::default())
    }

    pub fn parse_with(source: &str, limits: &Limits) -> Result<Template, Error> {
        let position = |offset: usize, message: String| Error::Parse {
            line: parser::line_of(source, offset),
            column: parser::column_of(source, offset),
            message,
        };
        let tokens = lexer::lex(source).map_err(|e| position(e.offset, e.message))?;
        let mut p = parser::TreeParser::new(source, tokens, limits);
        let nodes = p
            .parse_document()
            .map_err(|e| position(e.offset, e.message))?;
        Ok(Template { nodes })
    }

    /// Renders with the default options; `context` is an object of top-level variables
    /// (anything else counts as no variables).
    pub fn render(&self, context: &Value) -> Result<String, Error> {
        self.render_with(context, &RenderOptions::default())
    }

    pub fn render_with(
        &self,
        context: &Value,
        options: &RenderOptions<'_>,
    ) -> Result<String, Error> {
        let empty = Object::new();
        let globals = match context {
            Value::Object(o) => &**o,
            _ => &empty,
        };
        self.run(context::Globals::Value(globals), options)
    }

    /// Renders against a JSON object read in place: only the values the template reaches are
    /// converted. Anything but an object counts as no variables.
    pub fn render_json(
        &self,
        context: &serde_json::Value,
        options: &RenderOptions<'_>,
    ) -> Result<String, Error> {
        let empty = serde_json::Map::new();
        let globals = match context {
            serde_json::Value::Object(map) => map,
            _ => &empty,
        };
        self.run(context::Globals::Json(globals), options)
    }

    fn run(
        &self,
        globals: context::Globals<'_>,
        options: &RenderOptions<'_>,
    ) -> Result<String, Error> {
        let mut renderer = render::Renderer::new(globals, options);
        let mut out = String::new();
        renderer.render_nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn templates_are_shareable() {
        assert_send_sync::<Template>();
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let err = Template::parse("ab\ncd {{ x | }}").expect_err("bad filter");
        assert!(
            matches!(
                &err,
                Error::Parse {
                    line: 2,
                    column: 10,
                    ..
                }
            ),
            "{err}"
        );
    }
}
