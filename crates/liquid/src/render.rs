//! Renders a parsed template: variable scopes, expression and condition evaluation, and the
//! bounds (iterations, output size, deadline) checked as it goes. Tags with their own state
//! (loops, cycles, counters, partials) live in `tags`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::Error;
use crate::ast::{Cond, Expr, Node, Op, Output, Path, Segment};
use crate::context::{self, Globals};
use crate::filters::FilterArgs;
use crate::tags::{Frame, LoopState};
use crate::value::{Value, liquid_cmp, liquid_eq};
use crate::{Limits, RenderOptions};

/// What a node tells the loop around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct Renderer<'a> {
    pub globals: Globals<'a>,
    pub options: &'a RenderOptions<'a>,
    pub frame: Frame,
    pub iterations: u64,
    pub ticks: u32,
    pub partial_depth: usize,
    pub partial_cache: Vec<(String, Arc<crate::Template>)>,
    /// The variable a capture is filling, for the error when it grows too large.
    pub capturing: Option<Arc<str>>,
    /// Blocks being rendered, across partials: bounds the stack however partials nest.
    pub depth: usize,
    /// Items filters and comparisons have processed so far (see `Limits::max_filter_work`);
    /// a cell because conditions are evaluated through `&self`.
    pub filter_work: std::cell::Cell<u64>,
    /// JSON arrays and objects already converted, by address (the context is borrowed, so
    /// addresses are stable for the render).
    json_cache: std::cell::RefCell<Vec<(usize, Value)>>,
}

/// Parsing limits nesting within one template; this limits it across partials.
const MAX_RENDER_DEPTH: usize = 160;

pub(crate) type R<T> = Result<T, Error>;

impl<'a> Renderer<'a> {
    pub fn new(globals: Globals<'a>, options: &'a RenderOptions<'a>) -> Renderer<'a> {
        Renderer {
            globals,
            options,
            frame: Frame {
                scopes: vec![Vec::new()],
                ..Frame::default()
            },
            iterations: 0,
            ticks: 0,
            partial_depth: 0,
            partial_cache: Vec::new(),
            capturing: None,
            depth: 0,
            filter_work: std::cell::Cell::new(0),
            json_cache: std::cell::RefCell::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.options.limits
    }

    /// Checks the deadline every so often: reading the clock per node would cost more than
    /// most nodes do.
    pub fn tick(&mut self) -> R<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(64)
            && let Some(deadline) = self.options.deadline
            && std::time::Instant::now() >= deadline
        {
            return Err(Error::Deadline);
        }
        Ok(())
    }

    /// Counts one loop iteration against the render's budget.
    pub fn iterate(&mut self) -> R<()> {
        self.iterations += 1;
        if self.iterations > self.limits().max_render_iterations {
            return Err(Error::Render(format!(
                "the template's loops ran more than {} iterations in all",
                self.limits().max_render_iterations
            )));
        }
        self.tick()
    }

    pub fn too_large(&self) -> Error {
        match &self.capturing {
            Some(name) => Error::Render(format!(
                "the text captured into `{name}` is larger than {} bytes",
                self.limits().max_output_bytes
            )),
            None => Error::OutputTooLarge(self.limits().max_output_bytes),
        }
    }

    pub fn render_nodes(&mut self, nodes: &[Node], out: &mut String) -> R<Flow> {
        if self.depth >= MAX_RENDER_DEPTH {
            return Err(Error::Render(format!(
                "blocks and partials nest more than {MAX_RENDER_DEPTH} deep"
            )));
        }
        self.depth += 1;
        let result = self.render_list(nodes, out);
        self.depth -= 1;
        result
    }

    fn render_list(&mut self, nodes: &[Node], out: &mut String) -> R<Flow> {
        for node in nodes {
            self.tick()?;
            let flow = self.render_node(node, out)?;
            if out.len() > self.limits().max_output_bytes {
                return Err(self.too_large());
            }
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn render_node(&mut self, node: &Node, out: &mut String) -> R<Flow> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Output(o) => {
                let v = self.eval_output(o)?;
                v.write_to(out);
            }
            Node::Assign(name, o) => {
                let v = self.eval_output(o)?;
                self.frame.assign(Arc::clone(name), v);
            }
            Node::Capture(name, body) => {
                let mut buf = String::new();
                let outer = self.capturing.replace(Arc::clone(name));
                let flow = self.render_nodes(body, &mut buf);
                self.capturing = outer;
                let flow = flow?;
                self.frame.assign(Arc::clone(name), Value::string(buf));
                return Ok(flow);
            }
            Node::If(i) => {
                for (n, (cond, body)) in i.branches.iter().enumerate() {
                    let mut hit = self.eval_cond(cond)?;
                    if n == 0 && i.negate_first {
                        hit = !hit;
                    }
                    if hit {
                        return self.render_nodes(body, out);
                    }
                }
                if let Some(body) = &i.otherwise {
                    return self.render_nodes(body, out);
                }
            }
            Node::Case(c) => return self.render_case(c, out),
            Node::For(f) => return self.render_for(f, out).map_err(|e| at_line(f.line, e)),
            Node::Tablerow(f) => {
                return self.render_tablerow(f, out).map_err(|e| at_line(f.line, e));
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::Cycle(c) => self.render_cycle(c, out)?,
            Node::Increment(name) => {
                let v = self.frame.counter(name);
                out.push_str(&v.to_string());
                self.frame.set_counter(name, v.saturating_add(1));
            }
            Node::Decrement(name) => {
                let v = self.frame.counter(name).saturating_sub(1);
                self.frame.set_counter(name, v);
                out.push_str(&v.to_string());
            }
            Node::Include(inc) => return self.render_include(inc, out),
            Node::IfChanged(body) => {
                let mut buf = String::new();
                let flow = self.render_nodes(body, &mut buf)?;
                if self.frame.ifchanged.as_deref() != Some(buf.as_str()) {
                    out.push_str(&buf);
                    self.frame.ifchanged = Some(buf);
                }
                return Ok(flow);
            }
            Node::Nothing => {}
        }
        Ok(Flow::Normal)
    }

    fn render_case(&mut self, c: &crate::ast::Case, out: &mut String) -> R<Flow> {
        let subject = self.eval(&c.subject)?;
        let mut run_else = true;
        for arm in &c.arms {
            match arm {
                crate::ast::CaseArm::When(values, body) => {
                    for v in values {
                        let v = self.eval(v)?;
                        self.charge(work(&subject).saturating_add(work(&v)))?;
                        if liquid_eq(&subject, &v) {
                            run_else = false;
                            let flow = self.render_nodes(body, out)?;
                            if flow != Flow::Normal {
                                return Ok(flow);
                            }
                        }
                    }
                }
                crate::ast::CaseArm::Else(body) => {
                    if run_else {
                        let flow = self.render_nodes(body, out)?;
                        if flow != Flow::Normal {
                            return Ok(flow);
                        }
                    }
                }
            }
        }
        Ok(Flow::Normal)
    }

    pub fn eval_output(&mut self, o: &Output) -> R<Value> {
        let mut value = self.eval(&o.expr)?;
        for f in &o.filters {
            // A filter can take a while on a large value: count it toward the deadline check,
            // and its input's size toward the render's filter work.
            self.tick()?;
            self.charge(work(&value)).map_err(|e| at_line(o.line, e))?;
            let mut args = Vec::with_capacity(f.args.len());
            for a in &f.args {
                args.push(self.eval(a)?);
            }
            let mut kwargs = Vec::new();
            for (k, a) in &f.kwargs {
                kwargs.push((Arc::clone(k), self.eval(a)?));
            }
            let fa = FilterArgs {
                pos: &args,
                kw: &kwargs,
                max_bytes: self.limits().max_output_bytes,
                max_items: self.limits().max_render_iterations,
                now: self.options.now,
            };
            value = (f.func)(&value, &fa)
                .map_err(|e| Error::Render(format!("line {}: {}: {e}", o.line, f.name)))?;
            let too_big = match &value {
                Value::Str(s) => s.len() > self.limits().max_output_bytes,
                Value::Array(a) => a.len() as u64 > self.limits().max_render_iterations,
                _ => false,
            };
            if too_big {
                return Err(Error::Render(format!(
                    "line {}: the result of `{}` is larger than {} bytes",
                    o.line,
                    f.name,
                    self.limits().max_output_bytes
                )));
            }
        }
        Ok(value)
    }

    pub fn eval(&self, e: &Expr) -> R<Value> {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Range(a, b) => {
                let a = range_bound(&self.eval(a)?);
                let b = range_bound(&self.eval(b)?);
                Ok(Value::Range(a, b))
            }
            Expr::Path(p) => self.eval_path(p),
        }
    }

    fn eval_path(&self, p: &Path) -> R<Value> {
        let root_name: Cow<'_, str> = match &p.root {
            Segment::Key(k) => Cow::Borrowed(&**k),
            Segment::Index(i) => Cow::Owned(i.to_string()),
            Segment::Dynamic(e) => match self.eval(e)? {
                Value::Str(s) => Cow::Owned(s.to_string()),
                _ => return Ok(Value::Nil),
            },
        };
        let mut rest = p.rest.as_slice();
        if let Some(v) = self.lookup_local(&root_name) {
            return self.walk(v, rest);
        }
        if (root_name == "forloop" || root_name == "tablerowloop") && !self.frame.loops.is_empty() {
            return match self.loop_value(&root_name, &mut rest) {
                Some(v) => self.walk(Cow::Owned(v), rest),
                None => Ok(Value::Nil),
            };
        }
        match self.globals {
            Globals::Value(o) => match o.get(&root_name) {
                Some(v) => self.walk(Cow::Borrowed(v), rest),
                None => Ok(Value::Nil),
            },
            Globals::Json(map) => match map.get(&*root_name) {
                Some(j) => self.walk_json(j, rest),
                None => Ok(Value::Nil),
            },
        }
    }

    fn walk(&self, mut current: Cow<'_, Value>, rest: &[Segment]) -> R<Value> {
        for seg in rest {
            current = match current {
                Cow::Borrowed(c) => match self.step(c, seg)? {
                    Some(v) => v,
                    None => return Ok(Value::Nil),
                },
                Cow::Owned(c) => match self.step(&c, seg)? {
                    Some(v) => Cow::Owned(v.into_owned()),
                    None => return Ok(Value::Nil),
                },
            };
        }
        Ok(current.into_owned())
    }

    /// Follows a path through JSON by reference, converting only where it ends.
    fn walk_json(&self, mut current: &serde_json::Value, rest: &[Segment]) -> R<Value> {
        for (i, seg) in rest.iter().enumerate() {
            let next = match seg {
                Segment::Key(k) => context::property(current, k),
                Segment::Index(n) => context::index(current, *n),
                Segment::Dynamic(e) => match self.eval(e)? {
                    Value::Str(s) => context::property(current, &s),
                    Value::Int(n) => context::index(current, n),
                    Value::Float(f) => context::index(current, f as i64),
                    _ => None,
                },
            };
            match next {
                Some(context::Step::Json(j)) => current = j,
                Some(context::Step::Owned(v)) => {
                    return self.walk(Cow::Owned(v), rest.get(i + 1..).unwrap_or(&[]));
                }
                None => return Ok(Value::Nil),
            }
        }
        if !matches!(
            current,
            serde_json::Value::Array(_) | serde_json::Value::Object(_)
        ) {
            return Ok(Value::from_json(current));
        }
        // A collection reached again (a second loop over `event.items`) is converted once.
        let key = std::ptr::from_ref(current) as usize;
        let mut cache = self.json_cache.borrow_mut();
        if let Some((_, v)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(v.clone());
        }
        let value = Value::from_json(current);
        // Kept small: the search is linear, and most templates reach a handful.
        if cache.len() < 32 {
            cache.push((key, value.clone()));
        }
        Ok(value)
    }

    fn step<'v>(&self, current: &'v Value, seg: &Segment) -> R<Option<Cow<'v, Value>>> {
        Ok(match seg {
            Segment::Key(k) => property(current, k),
            Segment::Index(i) => index(current, *i),
            Segment::Dynamic(e) => match self.eval(e)? {
                Value::Str(s) => property(current, &s).map(|v| Cow::Owned(v.into_owned())),
                Value::Int(i) => index(current, i),
                Value::Float(f) => index(current, f as i64),
                _ => None,
            },
        })
    }

    /// A variable the template set: from the scopes (innermost first), then the counters.
    /// `forloop` inside a loop is the loop's, whatever was assigned.
    fn lookup_local(&self, name: &str) -> Option<Cow<'_, Value>> {
        if (name == "forloop" || name == "tablerowloop") && !self.frame.loops.is_empty() {
            return None;
        }
        if let Some(v) = self.frame.lookup(name) {
            return Some(Cow::Borrowed(v));
        }
        self.frame
            .counters
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|n| Cow::Owned(Value::Int(n.1)))
    }

    /// `forloop`/`tablerowloop` and their properties, read from the loop stack; `rest` is
    /// advanced past the properties consumed.
    fn loop_value(&self, name: &str, rest: &mut &[Segment]) -> Option<Value> {
        if name != "forloop" && name != "tablerowloop" {
            return None;
        }
        let mut depth = self.frame.loops.len().checked_sub(1)?;
        loop {
            let state: &LoopState = self.frame.loops.get(depth)?;
            let Some((Segment::Key(k), tail)) = rest.split_first() else {
                return Some(state.to_object(name == "tablerowloop"));
            };
            *rest = tail;
            if &**k == "parentloop" {
                depth = depth.checked_sub(1)?;
                if self.frame.loops.get(depth)?.isolated {
                    return None;
                }
                continue;
            }
            return state.field(k, name == "tablerowloop");
        }
    }

    /// Counts work toward `Limits::max_filter_work`.
    pub fn charge(&self, units: u64) -> R<()> {
        let total = self.filter_work.get().saturating_add(units);
        self.filter_work.set(total);
        if total > self.limits().max_filter_work {
            return Err(Error::Render(format!(
                "the template's filters and comparisons processed more than {} items in all",
                self.limits().max_filter_work
            )));
        }
        Ok(())
    }

    pub fn eval_cond(&self, c: &Cond) -> R<bool> {
        Ok(match c {
            Cond::Or(a, b) => self.eval_cond(a)? || self.eval_cond(b)?,
            Cond::And(a, b) => self.eval_cond(a)? && self.eval_cond(b)?,
            Cond::Expr(e) => self.eval(e)?.is_truthy(),
            Cond::Cmp(a, op, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                self.charge(work(&a).saturating_add(work(&b)))?;
                compare(&a, *op, &b)?
            }
        })
    }
}

/// What a filter's input costs it, roughly: its items, or its text in 64-byte units.
fn work(v: &Value) -> u64 {
    let text = |s: &str| s.len() as u64 / 64;
    match v {
        // Items count one each, and long strings among them by their length: an array can
        // hold one large string many times.
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => 1 + text(s),
                _ => 1,
            })
            .fold(0u64, u64::saturating_add),
        Value::Range(a, b) => Value::range_len(*a, *b),
        Value::Str(s) => text(s),
        Value::Object(o) => o.len() as u64,
        _ => 0,
    }
}

/// Names the line of the loop a render error came from, unless a node inside it already did.
fn at_line(line: u32, e: Error) -> Error {
    match e {
        Error::Render(m) if !m.starts_with("line ") => Error::Render(format!("line {line}: {m}")),
        other => other,
    }
}

fn compare(a: &Value, op: Op, b: &Value) -> R<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    Ok(match op {
        Op::Eq => liquid_eq(a, b),
        Op::Ne => !liquid_eq(a, b),
        Op::Contains => contains(a, b),
        _ => {
            if matches!(a, Value::Empty | Value::Blank) || matches!(b, Value::Empty | Value::Blank)
            {
                return Ok(false);
            }
            let Some(ord) = liquid_cmp(a, b) else {
                let numeric = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
                let text = |v: &Value| matches!(v, Value::Str(_));
                if (numeric(a) && text(b)) || (text(a) && numeric(b)) {
                    return Err(Error::Render(format!(
                        "cannot compare {} with {}",
                        type_name(a),
                        type_name(b)
                    )));
                }
                return Ok(false);
            };
            match op {
                Op::Lt => ord == Less,
                Op::Gt => ord == Greater,
                Op::Le => ord != Greater,
                Op::Ge => ord != Less,
                _ => ord == Equal,
            }
        }
    })
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Range(..) => "a range",
        Value::Empty => "empty",
        Value::Blank => "blank",
    }
}

fn contains(a: &Value, b: &Value) -> bool {
    if matches!(b, Value::Nil | Value::Bool(false)) {
        return false;
    }
    match a {
        Value::Str(s) => s.contains(&*b.render()),
        Value::Array(items) => items.iter().any(|i| liquid_eq(i, b)),
        Value::Object(o) => matches!(b, Value::Str(k) if o.contains_key(k)),
        Value::Range(lo, hi) => matches!(b, Value::Int(i) if lo <= i && i <= hi),
        _ => false,
    }
}

/// A range bound: numbers truncate, numeric strings parse, anything else is 0.
pub(crate) fn range_bound(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Str(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// `value.key`, including the `size`, `first` and `last` properties Liquid adds.
pub(crate) fn property<'v>(v: &'v Value, key: &str) -> Option<Cow<'v, Value>> {
    match v {
        Value::Object(o) => match o.get(key) {
            Some(x) => Some(Cow::Borrowed(x)),
            None => match key {
                "size" => Some(Cow::Owned(Value::Int(v.size()))),
                "first" => o.first().map(|(k, x)| {
                    Cow::Owned(Value::array(vec![Value::Str(Arc::clone(k)), x.clone()]))
                }),
                _ => None,
            },
        },
        Value::Array(items) => match key {
            "size" => Some(Cow::Owned(Value::Int(v.size()))),
            "first" => items.first().map(Cow::Borrowed),
            "last" => items.last().map(Cow::Borrowed),
            _ => None,
        },
        Value::Str(s) => match key {
            "size" => Some(Cow::Owned(Value::Int(v.size()))),
            "first" => s
                .chars()
                .next()
                .map(|c| Cow::Owned(Value::string(c.to_string()))),
            "last" => s
                .chars()
                .last()
                .map(|c| Cow::Owned(Value::string(c.to_string()))),
            _ => None,
        },
        Value::Range(a, b) => match key {
            "size" => Some(Cow::Owned(Value::Int(v.size()))),
            "first" => Some(Cow::Owned(Value::Int(*a))),
            "last" => Some(Cow::Owned(Value::Int(*b))),
            _ => None,
        },
        _ => None,
    }
}

fn index(v: &Value, i: i64) -> Option<Cow<'_, Value>> {
    match v {
        Value::Array(items) => {
            let len = i64::try_from(items.len()).ok()?;
            let at = if i < 0 { len.checked_add(i)? } else { i };
            items.get(usize::try_from(at).ok()?).map(Cow::Borrowed)
        }
        Value::Object(o) => o.get(&i.to_string()).map(Cow::Borrowed),
        Value::Range(a, b) => {
            let len = i64::try_from(Value::range_len(*a, *b)).ok()?;
            let at = if i < 0 { len.checked_add(i)? } else { i };
            (0..len)
                .contains(&at)
                .then(|| Cow::Owned(Value::Int(a.saturating_add(at))))
        }
        _ => None,
    }
}
