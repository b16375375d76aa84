//! Size limits on the text a template builds in memory, where the output limit cannot see it:
//! `assign`, `capture`, `append` and `prepend` replace liquid's and refuse values larger than
//! `MAX_OUTPUT_BYTES`. Without them `{% capture s %}{{ s }}{{ s }}{% endcapture %}` in a loop
//! doubles a string forty times and takes the process down long before any time limit.

use std::fmt;
use std::io::{self, Write};

use liquid_core::model::KString;
use liquid_core::parser::{FilterArguments, FilterChain, ParameterReflection};
use liquid_core::{
    BlockReflection, Error, Expression, Filter, FilterReflection, Language, ParseBlock,
    ParseFilter, ParseTag, Renderable, Result, Runtime, TagBlock, TagReflection, TagTokenIter,
    Template, Value, ValueView,
};

use super::MAX_OUTPUT_BYTES;

/// A writer that refuses the write that would take it past `MAX_OUTPUT_BYTES`, which makes
/// liquid stop rendering.
pub(super) struct LimitedWriter {
    pub(super) buf: Vec<u8>,
    pub(super) overflow: bool,
}

impl LimitedWriter {
    pub(super) fn new() -> Self {
        LimitedWriter {
            buf: Vec::new(),
            overflow: false,
        }
    }
}

impl Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflow = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn too_large(what: &str) -> Error {
    Error::with_msg(format!("{what} is larger than {MAX_OUTPUT_BYTES} bytes"))
}

/// Rendered size of a value, counting no further than just past the limit.
fn size(value: &dyn ValueView) -> usize {
    if let Some(scalar) = value.as_scalar() {
        return scalar.to_kstr().len();
    }
    let children: Box<dyn Iterator<Item = &dyn ValueView>> = if let Some(a) = value.as_array() {
        a.values()
    } else if let Some(o) = value.as_object() {
        o.values()
    } else {
        return 0;
    };
    let mut total = 0usize;
    for child in children {
        total = total.saturating_add(size(child)).saturating_add(1);
        if total > MAX_OUTPUT_BYTES {
            break;
        }
    }
    total
}

#[derive(Clone, Copy)]
pub(super) struct AssignTag;

#[derive(Debug)]
struct Assign {
    name: KString,
    value: FilterChain,
}

impl TagReflection for AssignTag {
    fn tag(&self) -> &str {
        "assign"
    }
    fn description(&self) -> &str {
        "Sets a variable, up to a size limit."
    }
}

impl ParseTag for AssignTag {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let name = arguments
            .expect_next("Identifier expected.")?
            .expect_identifier()
            .into_result()?;
        arguments
            .expect_next("Assignment operator \"=\" expected.")?
            .expect_str("=")
            .into_result_custom_msg("Assignment operator \"=\" expected.")?;
        let value = arguments
            .expect_next("FilterChain expected.")?
            .expect_filter_chain(options)
            .into_result()?;
        arguments.expect_nothing()?;
        Ok(Box::new(Assign {
            name: KString::from_ref(name),
            value,
        }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

impl Renderable for Assign {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let value = self.value.evaluate(runtime)?.into_owned();
        if size(&value) > MAX_OUTPUT_BYTES {
            return Err(too_large(&format!("the value assigned to `{}`", self.name)));
        }
        runtime.set_global(self.name.clone(), value);
        Ok(())
    }
}

#[derive(Clone, Copy)]
pub(super) struct CaptureBlock;

#[derive(Debug)]
struct Capture {
    name: KString,
    body: Template,
}

impl BlockReflection for CaptureBlock {
    fn start_tag(&self) -> &str {
        "capture"
    }
    fn end_tag(&self) -> &str {
        "endcapture"
    }
    fn description(&self) -> &str {
        "Renders its body into a variable, up to a size limit."
    }
}

impl ParseBlock for CaptureBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let name = arguments
            .expect_next("Identifier expected")?
            .expect_identifier()
            .into_result()?;
        arguments.expect_nothing()?;
        let body = Template::new(tokens.parse_all(options)?);
        tokens.assert_empty();
        Ok(Box::new(Capture {
            name: KString::from_ref(name),
            body,
        }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

impl Renderable for Capture {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let mut captured = LimitedWriter::new();
        if let Err(e) = self.body.render_to(&mut captured, runtime) {
            return Err(if captured.overflow {
                too_large(&format!("the text captured into `{}`", self.name))
            } else {
                e
            });
        }
        let text =
            String::from_utf8(captured.buf).map_err(|_| Error::with_msg("capture is not UTF-8"))?;
        runtime.set_global(self.name.clone(), Value::scalar(text));
        Ok(())
    }
}

/// `append` (`prepend: false`) and `prepend`, refusing results over the limit before
/// allocating them.
#[derive(Clone, Copy)]
pub(super) struct Join {
    pub(super) prepend: bool,
}

#[derive(Debug)]
struct JoinFilter {
    prepend: bool,
    text: Expression,
}

static JOIN_PARAMETERS: [ParameterReflection; 1] = [ParameterReflection {
    name: "string",
    description: "The text to add.",
    is_optional: false,
}];

impl FilterReflection for Join {
    fn name(&self) -> &str {
        if self.prepend { "prepend" } else { "append" }
    }
    fn description(&self) -> &str {
        if self.prepend {
            "Prepends text to a string."
        } else {
            "Appends text to a string."
        }
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &JOIN_PARAMETERS
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Join {
    fn parse(&self, mut arguments: FilterArguments) -> Result<Box<dyn Filter>> {
        let name = self.name();
        let text = arguments
            .positional
            .next()
            .ok_or_else(|| Error::with_msg(format!("{name} needs the text to add")))?;
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(Error::with_msg(format!("{name} takes one argument")));
        }
        Ok(Box::new(JoinFilter {
            prepend: self.prepend,
            text,
        }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

impl fmt::Display for JoinFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.prepend { "prepend" } else { "append" },
            self.text
        )
    }
}

impl Filter for JoinFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let text = self.text.evaluate(runtime)?;
        let (input, text) = (input.to_kstr(), text.to_kstr());
        if input.len() + text.len() > MAX_OUTPUT_BYTES {
            return Err(too_large("the joined text"));
        }
        let (first, second) = if self.prepend {
            (&text, &input)
        } else {
            (&input, &text)
        };
        Ok(Value::scalar(format!("{first}{second}")))
    }
}
