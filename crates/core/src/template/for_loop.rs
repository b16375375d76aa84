//! Sluice's `{% for %}`, replacing liquid-rust's, and a `tablerow` that is refused.
//!
//! Why replace it:
//! - liquid-rust's `for` builds `(a..b)` as a vector before the first iteration, so a huge
//!   bound read from a variable exhausts memory before any time limit can act. Here a literal
//!   range above `MAX_LOOP_ITERATIONS` is a parse error (so `check` refuses it, with its line),
//!   a computed one fails the render before anything is built, and every render has a budget
//!   of `MAX_RENDER_ITERATIONS` loop iterations in total, which bounds nested loops.
//! - liquid-rust's `for` copies the collection out of the context, losing the view in which a
//!   missing key is nil, so `{{ item.colour }}` on an item without `colour` failed. Here the
//!   items are borrowed from the context.
//!
//! `tablerow` has the same vector problem and no use in messages, so it is refused at save time.

use std::collections::HashMap;
use std::io::Write;

use liquid_core::model::{KString, KStringRef, Object, ScalarCow, ValueCow};
use liquid_core::parser::{BlockElement, TryMatchToken};
use liquid_core::runtime::{Interrupt, InterruptRegister, StackFrame};
use liquid_core::{
    BlockReflection, Error, Expression, Language, ParseBlock, Renderable, Result, Runtime,
    TagBlock, TagTokenIter, Template, Value, ValueView,
};

use super::{MAX_LOOP_ITERATIONS, MAX_RENDER_ITERATIONS};

#[derive(Clone, Copy)]
pub(super) struct ForBlock;

#[derive(Debug)]
enum Source {
    Collection(Expression),
    Range(Expression, Expression),
}

#[derive(Debug)]
struct For {
    var_name: KString,
    source: Source,
    body: Template,
    otherwise: Option<Template>,
    limit: Option<Expression>,
    offset: Option<Expression>,
    reversed: bool,
}

/// Loop iterations spent by the current render; liquid keeps one per render in its registers.
#[derive(Default)]
struct Fuel(i64);

impl BlockReflection for ForBlock {
    fn start_tag(&self) -> &str {
        "for"
    }
    fn end_tag(&self) -> &str {
        "endfor"
    }
    fn description(&self) -> &str {
        "Repeats its body for each item of an array or a range, with size limits."
    }
}

impl ParseBlock for ForBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let var_name = arguments
            .expect_next("Identifier expected.")?
            .expect_identifier()
            .into_result()?;
        arguments
            .expect_next("\"in\" expected.")?
            .expect_str("in")
            .into_result_custom_msg("\"in\" expected.")?;
        let source = match arguments
            .expect_next("Array or range expected.")?
            .expect_value()
        {
            TryMatchToken::Matches(collection) => Source::Collection(collection),
            TryMatchToken::Fails(token) => match token.expect_range() {
                TryMatchToken::Matches((from, to)) => Source::Range(from, to),
                TryMatchToken::Fails(token) => return Err(token.raise_error()),
            },
        };
        if let Source::Range(Expression::Literal(from), Expression::Literal(to)) = &source
            && let (Some(from), Some(to)) = (literal_int(from), literal_int(to))
            && let count = span(from, to)
            && count > i128::from(MAX_LOOP_ITERATIONS)
        {
            let message =
                format!("this loop would run {count} times; the limit is {MAX_LOOP_ITERATIONS}");
            return Err(arguments.raise_error(&message));
        }
        let (mut limit, mut offset, mut reversed) = (None, None, false);
        while let Some(token) = arguments.next() {
            match token.as_str() {
                "limit" => limit = Some(attribute(&mut arguments)?),
                "offset" => offset = Some(attribute(&mut arguments)?),
                "reversed" => reversed = true,
                _ => {
                    return Err(
                        token.raise_custom_error("\"limit\", \"offset\" or \"reversed\" expected.")
                    );
                }
            }
        }
        let (mut body, mut otherwise) = (Vec::new(), None);
        while let Some(element) = tokens.next()? {
            match element {
                BlockElement::Tag(mut tag) if tag.name() == "else" => {
                    tag.tokens().expect_nothing()?;
                    otherwise = Some(Template::new(tokens.parse_all(options)?));
                    break;
                }
                BlockElement::Tag(tag) => body.push(tag.parse(&mut tokens, options)?),
                element => body.push(element.parse(&mut tokens, options)?),
            }
        }
        tokens.assert_empty();
        Ok(Box::new(For {
            var_name: KString::from_ref(var_name),
            source,
            body: Template::new(body),
            otherwise,
            limit,
            offset,
            reversed,
        }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

impl Renderable for For {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let collection;
        let mut items: Vec<ValueCow<'_>> = match &self.source {
            Source::Range(from, to) => {
                let (from, to) = (bound(from, runtime)?, bound(to, runtime)?);
                let count = span(from, to);
                if count > i128::from(MAX_LOOP_ITERATIONS) {
                    return Err(Error::with_msg(format!(
                        "the loop over ({from}..{to}) would run {count} times; the limit is \
                         {MAX_LOOP_ITERATIONS}"
                    )));
                }
                (from..=to)
                    .map(|i| ValueCow::Owned(Value::scalar(i)))
                    .collect()
            }
            Source::Collection(expression) => {
                collection = borrowed(expression, runtime)?;
                elements(collection.as_view())?
            }
        };
        let offset = count_attribute(self.offset.as_ref(), runtime)?.unwrap_or(0);
        items.drain(..offset.min(items.len()));
        if let Some(limit) = count_attribute(self.limit.as_ref(), runtime)? {
            items.truncate(limit);
        }
        if self.reversed {
            items.reverse();
        }
        if items.is_empty() {
            return match &self.otherwise {
                Some(otherwise) => otherwise.render_to(writer, runtime),
                None => Ok(()),
            };
        }
        let parentloop = runtime
            .try_get(&[ScalarCow::new("forloop")])
            .map_or(Value::Nil, |v| v.to_value());
        let length = i64::try_from(items.len()).unwrap_or(i64::MAX);
        for (index, item) in (0..length).zip(items.iter()) {
            {
                let mut fuel = runtime.registers().get_mut::<Fuel>();
                fuel.0 += 1;
                if fuel.0 > MAX_RENDER_ITERATIONS {
                    return Err(Error::with_msg(format!(
                        "the loops of this template ran more than {MAX_RENDER_ITERATIONS} times"
                    )));
                }
            }
            let forloop = forloop(index, length, &parentloop);
            let mut frame = HashMap::<KStringRef<'_>, &dyn ValueView>::with_capacity(2);
            frame.insert(KStringRef::from_ref("forloop"), &forloop);
            frame.insert(self.var_name.as_ref(), item.as_view());
            let scope = StackFrame::new(runtime, &frame);
            self.body.render_to(writer, &scope)?;
            if let Some(Interrupt::Break) = scope.registers().get_mut::<InterruptRegister>().reset()
            {
                break;
            }
        }
        Ok(())
    }
}

fn forloop(index: i64, length: i64, parentloop: &Value) -> Value {
    let mut object = Object::new();
    object.insert("length".into(), Value::scalar(length));
    object.insert("index0".into(), Value::scalar(index));
    object.insert("index".into(), Value::scalar(index + 1));
    object.insert("rindex0".into(), Value::scalar(length - index - 1));
    object.insert("rindex".into(), Value::scalar(length - index));
    object.insert("first".into(), Value::scalar(index == 0));
    object.insert("last".into(), Value::scalar(index == length - 1));
    object.insert("parentloop".into(), parentloop.clone());
    Value::Object(object)
}

/// Looks a variable up by reference when the runtime can, so the loop sees the context's own
/// items (with nil for missing keys) rather than copies.
fn borrowed<'r>(expression: &'r Expression, runtime: &'r dyn Runtime) -> Result<ValueCow<'r>> {
    if let Expression::Variable(variable) = expression {
        let path = variable.evaluate(runtime)?;
        if let Some(value) = runtime.try_get(&path) {
            return Ok(value);
        }
    }
    expression.evaluate(runtime)
}

/// An array's items; a hash's `[key, value]` pairs; nothing for nil or empty.
fn elements(value: &dyn ValueView) -> Result<Vec<ValueCow<'_>>> {
    if let Some(array) = value.as_array() {
        Ok(array.values().map(ValueCow::Borrowed).collect())
    } else if let Some(object) = value.as_object() {
        Ok(object
            .iter()
            .map(|(k, v)| {
                ValueCow::Owned(Value::Array(vec![
                    Value::scalar(k.into_owned()),
                    v.to_value(),
                ]))
            })
            .collect())
    } else if value.is_nil() || value.is_state() {
        Ok(Vec::new())
    } else {
        Err(Error::with_msg(format!(
            "for needs an array or a range, not {}",
            value.type_name()
        )))
    }
}

fn literal_int(value: &Value) -> Option<i64> {
    value.as_scalar().and_then(|s| s.to_integer())
}

/// Iterations of `(from..to)`: zero when `to < from`.
fn span(from: i64, to: i64) -> i128 {
    (i128::from(to) - i128::from(from) + 1).max(0)
}

/// A range bound: a whole number, or nil (a missing variable) read as 0 like Shopify's Liquid.
fn bound(expression: &Expression, runtime: &dyn Runtime) -> Result<i64> {
    let value = expression.evaluate(runtime)?;
    if value.is_nil() {
        return Ok(0);
    }
    value
        .as_scalar()
        .and_then(|s| s.to_integer())
        .ok_or_else(|| {
            Error::with_msg(format!(
                "a loop bound must be a whole number, not {} `{}`",
                value.type_name(),
                value.to_kstr()
            ))
        })
}

fn attribute(arguments: &mut TagTokenIter<'_>) -> Result<Expression> {
    arguments
        .expect_next("\":\" expected.")?
        .expect_str(":")
        .into_result_custom_msg("\":\" expected.")?;
    arguments
        .expect_next("Value expected.")?
        .expect_value()
        .into_result()
}

/// `limit:` and `offset:` values; negative counts as zero.
fn count_attribute(attribute: Option<&Expression>, runtime: &dyn Runtime) -> Result<Option<usize>> {
    let Some(attribute) = attribute else {
        return Ok(None);
    };
    let value = attribute.evaluate(runtime)?;
    let number = value
        .as_scalar()
        .and_then(|s| s.to_integer())
        .ok_or_else(|| {
            Error::with_msg(format!(
                "limit and offset must be whole numbers, not {}",
                value.type_name()
            ))
        })?;
    Ok(Some(usize::try_from(number.max(0)).unwrap_or(usize::MAX)))
}

#[derive(Clone, Copy)]
pub(super) struct TableRowBlock;

impl BlockReflection for TableRowBlock {
    fn start_tag(&self) -> &str {
        "tablerow"
    }
    fn end_tag(&self) -> &str {
        "endtablerow"
    }
    fn description(&self) -> &str {
        "Not supported in Sluice templates."
    }
}

impl ParseBlock for TableRowBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        _tokens: TagBlock<'_, '_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        Err(arguments.raise_error("tablerow is not supported in Sluice templates; use for"))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}
