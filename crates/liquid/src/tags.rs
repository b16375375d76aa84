//! The stateful tags: `for` and `tablerow` (with `forloop`, `offset: continue`), `cycle`,
//! counters, and `include`/`render` of partials. `Frame` is the state one template sees;
//! `render` gives its partial a fresh one, `include` shares it.

use std::sync::Arc;

use crate::Error;
use crate::ast::{Cycle, ForLoop, Include, IncludeKind, Offset};
use crate::render::{Flow, R, Renderer, type_name};
use crate::value::{Object, Value};

#[derive(Default)]
pub(crate) struct Frame {
    /// Index 0 is the outermost scope, where `assign` and `capture` write.
    pub scopes: Vec<Vec<(Arc<str>, Value)>>,
    pub counters: Vec<(Arc<str>, i64)>,
    pub cycles: Vec<(String, usize)>,
    pub offsets: Vec<(Arc<str>, usize)>,
    pub ifchanged: Option<String>,
    pub loops: Vec<LoopState>,
}

impl Frame {
    pub fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(k, _)| &**k == name).map(|(_, v)| v))
    }

    pub fn assign(&mut self, name: Arc<str>, value: Value) {
        if self.scopes.is_empty() {
            self.scopes.push(Vec::new());
        }
        if let Some(scope) = self.scopes.first_mut() {
            set(scope, name, value);
        }
    }

    fn set_local(&mut self, name: &Arc<str>, value: Value) {
        if let Some(scope) = self.scopes.last_mut() {
            set(scope, Arc::clone(name), value);
        }
    }

    pub fn counter(&self, name: &str) -> i64 {
        self.counters
            .iter()
            .find(|(k, _)| &**k == name)
            .map_or(0, |(_, v)| *v)
    }

    pub fn set_counter(&mut self, name: &Arc<str>, value: i64) {
        match self.counters.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.counters.push((Arc::clone(name), value)),
        }
    }
}

fn set(scope: &mut Vec<(Arc<str>, Value)>, name: Arc<str>, value: Value) {
    match scope.iter_mut().find(|(k, _)| *k == name) {
        Some(slot) => slot.1 = value,
        None => scope.push((name, value)),
    }
}

/// One running loop, enough to answer any `forloop` or `tablerowloop` property.
pub(crate) struct LoopState {
    pub name: Arc<str>,
    pub index0: usize,
    pub length: usize,
    pub cols: usize,
    /// The loop of a `render ... for`, whose `parentloop` is not the caller's.
    pub isolated: bool,
}

fn int(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

impl LoopState {
    pub fn field(&self, key: &str, table: bool) -> Option<Value> {
        let i = self.index0;
        let n = self.length;
        let cols = self.cols.max(1);
        let col0 = i % cols;
        Some(match key {
            "index" => int(i + 1),
            "index0" => int(i),
            "rindex" => int(n.saturating_sub(i)),
            "rindex0" => int(n.saturating_sub(i + 1)),
            "first" => Value::Bool(i == 0),
            "last" => Value::Bool(i + 1 == n),
            "length" => int(n),
            "name" if !table => Value::Str(Arc::clone(&self.name)),
            "col" if table => int(col0 + 1),
            "col0" if table => int(col0),
            "col_first" if table => Value::Bool(col0 == 0),
            "col_last" if table => Value::Bool(col0 + 1 == cols || i + 1 == n),
            "row" if table => int(i / cols + 1),
            _ => return None,
        })
    }

    pub fn to_object(&self, table: bool) -> Value {
        let keys: &[&str] = if table {
            &[
                "col",
                "col0",
                "col_first",
                "col_last",
                "first",
                "index",
                "index0",
                "last",
                "length",
                "rindex",
                "rindex0",
                "row",
            ]
        } else {
            &[
                "first", "index", "index0", "last", "length", "name", "rindex", "rindex0",
            ]
        };
        let object: Object = keys
            .iter()
            .filter_map(|k| self.field(k, table).map(|v| (Arc::from(*k), v)))
            .collect();
        Value::Object(Arc::new(object))
    }
}

/// What a loop iterates, without materialising ranges.
enum Items {
    List(Arc<Vec<Value>>),
    Owned(Vec<Value>),
    Range(i64, usize),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::List(v) => v.len(),
            Items::Owned(v) => v.len(),
            Items::Range(_, n) => *n,
        }
    }

    fn get(&self, i: usize) -> Value {
        match self {
            Items::List(v) => v.get(i).cloned().unwrap_or_default(),
            Items::Owned(v) => v.get(i).cloned().unwrap_or_default(),
            Items::Range(a, _) => {
                Value::Int(a.saturating_add(i64::try_from(i).unwrap_or(i64::MAX)))
            }
        }
    }
}

impl Renderer<'_> {
    fn items(&self, v: Value) -> R<Items> {
        Ok(match v {
            Value::Array(a) => Items::List(a),
            Value::Range(a, b) => {
                let n = Value::range_len(a, b);
                let max = self.limits().max_loop_iterations;
                if n > max {
                    return Err(Error::Render(format!(
                        "this loop would run {n} times; the limit is {max}"
                    )));
                }
                Items::Range(a, usize::try_from(n).unwrap_or(0))
            }
            Value::Object(o) => Items::Owned(
                o.iter()
                    .map(|(k, v)| Value::array(vec![Value::Str(Arc::clone(k)), v.clone()]))
                    .collect(),
            ),
            Value::Str(s) if !s.is_empty() => Items::Owned(vec![Value::Str(s)]),
            _ => Items::Owned(Vec::new()),
        })
    }

    fn loop_param(&self, e: &crate::ast::Expr, what: &str) -> R<Option<i64>> {
        Ok(match self.eval(e)? {
            Value::Nil => None,
            Value::Int(i) => Some(i),
            Value::Float(f) => Some(f as i64),
            Value::Str(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                Error::Render(format!("`{what}` must be a whole number, not '{s}'"))
            })?),
            other => {
                return Err(Error::Render(format!(
                    "`{what}` must be a whole number, not {}",
                    type_name(&other)
                )));
            }
        })
    }

    /// The slice of `items` a loop visits after `offset` and `limit`, remembering where it
    /// ended for a later `offset: continue`.
    fn window(&mut self, f: &ForLoop, len: usize) -> R<(usize, usize)> {
        let from = match &f.offset {
            None => 0,
            Some(Offset::Continue) => self
                .frame
                .offsets
                .iter()
                .find(|(k, _)| *k == f.name)
                .map_or(0, |(_, v)| *v),
            Some(Offset::Expr(e)) => {
                let n = self.loop_param(e, "offset")?.unwrap_or(0);
                usize::try_from(n.max(0)).unwrap_or(usize::MAX)
            }
        };
        let from = from.min(len);
        let to = match &f.limit {
            Some(e) => match self.loop_param(e, "limit")? {
                Some(n) => from.saturating_add(usize::try_from(n.max(0)).unwrap_or(usize::MAX)),
                None => len,
            },
            None => len,
        }
        .min(len);
        match self.frame.offsets.iter_mut().find(|(k, _)| *k == f.name) {
            Some(slot) => slot.1 = to,
            None => self.frame.offsets.push((Arc::clone(&f.name), to)),
        }
        Ok((from, to))
    }

    pub fn render_for(&mut self, f: &ForLoop, out: &mut String) -> R<Flow> {
        let collection = self.eval(&f.collection)?;
        let items = self.items(collection)?;
        let (from, to) = self.window(f, items.len())?;
        let length = to.saturating_sub(from);
        if length == 0 {
            if let Some(body) = &f.otherwise {
                return self.render_nodes(body, out);
            }
            return Ok(Flow::Normal);
        }
        self.frame.scopes.push(Vec::new());
        self.frame.loops.push(LoopState {
            name: Arc::clone(&f.name),
            index0: 0,
            length,
            cols: 0,
            isolated: false,
        });
        let result = self.run_loop(f, &items, from, length, out);
        self.frame.loops.pop();
        self.frame.scopes.pop();
        result.map(|_| Flow::Normal)
    }

    fn run_loop(
        &mut self,
        f: &ForLoop,
        items: &Items,
        from: usize,
        length: usize,
        out: &mut String,
    ) -> R<()> {
        for i in 0..length {
            self.iterate()?;
            let at = if f.reversed {
                from + length - 1 - i
            } else {
                from + i
            };
            self.frame.set_local(&f.var, items.get(at));
            if let Some(state) = self.frame.loops.last_mut() {
                state.index0 = i;
            }
            if self.render_nodes(&f.body, out)? == Flow::Break {
                break;
            }
        }
        Ok(())
    }

    pub fn render_tablerow(&mut self, f: &ForLoop, out: &mut String) -> R<Flow> {
        let collection = self.eval(&f.collection)?;
        let items = self.items(collection)?;
        let (from, to) = self.window(f, items.len())?;
        let length = to.saturating_sub(from);
        let cols = match &f.cols {
            Some(e) => match self.loop_param(e, "cols")? {
                Some(n) => usize::try_from(n.max(1)).unwrap_or(1),
                None => length,
            },
            None => length,
        }
        .max(1);
        self.frame.scopes.push(Vec::new());
        self.frame.loops.push(LoopState {
            name: Arc::clone(&f.name),
            index0: 0,
            length,
            cols,
            isolated: false,
        });
        out.push_str("<tr class=\"row1\">\n");
        let mut result = Ok(());
        for i in 0..length {
            if let Err(e) = self.iterate() {
                result = Err(e);
                break;
            }
            let at = if f.reversed {
                from + length - 1 - i
            } else {
                from + i
            };
            self.frame.set_local(&f.var, items.get(at));
            if let Some(state) = self.frame.loops.last_mut() {
                state.index0 = i;
            }
            let col = i % cols + 1;
            out.push_str(&format!("<td class=\"col{col}\">"));
            let flow = match self.render_nodes(&f.body, out) {
                Ok(flow) => flow,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            out.push_str("</td>");
            if flow == Flow::Break {
                break;
            }
            if col == cols && i + 1 < length {
                out.push_str(&format!("</tr>\n<tr class=\"row{}\">", i / cols + 2));
            }
        }
        self.frame.loops.pop();
        self.frame.scopes.pop();
        result?;
        out.push_str("</tr>\n");
        Ok(Flow::Normal)
    }

    pub fn render_cycle(&mut self, c: &Cycle, out: &mut String) -> R<()> {
        let key = match &c.group {
            Some(g) => format!("named:{}", self.eval(g)?.render()),
            None => format!("unnamed:{}", c.key),
        };
        let position = self.frame.cycles.iter().position(|(k, _)| *k == key);
        let i = position
            .and_then(|p| self.frame.cycles.get(p))
            .map_or(0, |(_, i)| *i);
        if let Some(item) = c.items.get(i) {
            self.eval(item)?.write_to(out);
        }
        let next = if i + 1 >= c.items.len() { 0 } else { i + 1 };
        match position.and_then(|p| self.frame.cycles.get_mut(p)) {
            Some(slot) => slot.1 = next,
            None => self.frame.cycles.push((key, next)),
        }
        Ok(())
    }

    fn partial(&mut self, name: &str) -> R<Arc<crate::Template>> {
        if let Some((_, t)) = self.partial_cache.iter().find(|(n, _)| n == name) {
            return Ok(Arc::clone(t));
        }
        let source = self
            .options
            .partials
            .and_then(|p| p.source(name))
            .ok_or_else(|| Error::Render(format!("there is no partial named '{name}'")))?;
        let template = crate::Template::parse_with(&source, &self.options.limits)
            .map_err(|e| Error::Render(format!("in partial '{name}': {e}")))?;
        let template = Arc::new(template);
        self.partial_cache
            .push((name.to_owned(), Arc::clone(&template)));
        Ok(template)
    }

    pub fn render_include(&mut self, inc: &Include, out: &mut String) -> R<Flow> {
        let name = match self.eval(&inc.name)? {
            Value::Str(s) => s,
            other => {
                return Err(Error::Render(format!(
                    "a partial's name must be a string, not {}",
                    type_name(&other)
                )));
            }
        };
        if self.partial_depth >= self.limits().max_partial_depth {
            return Err(Error::Render(format!(
                "partials nest more than {} deep",
                self.limits().max_partial_depth
            )));
        }
        let template = self.partial(&name)?;
        let mut args = Vec::with_capacity(inc.args.len());
        for (k, e) in &inc.args {
            args.push((Arc::clone(k), self.eval(e)?));
        }
        let bound = match &inc.bind {
            Some((e, is_for)) => Some((self.eval(e)?, *is_for)),
            None => None,
        };
        let var: Arc<str> = inc.alias.clone().unwrap_or_else(|| Arc::clone(&name));
        self.partial_depth += 1;
        let result = match inc.kind {
            IncludeKind::Include => self.include(&template, args, bound, &var, out),
            IncludeKind::Render => self.render_isolated(&template, args, bound, &var, out),
        };
        self.partial_depth -= 1;
        result
    }

    fn include(
        &mut self,
        template: &crate::Template,
        args: Vec<(Arc<str>, Value)>,
        bound: Option<(Value, bool)>,
        var: &Arc<str>,
        out: &mut String,
    ) -> R<Flow> {
        self.frame.scopes.push(args);
        let result = match bound {
            Some((Value::Array(items), true)) => {
                let mut flow = Ok(Flow::Normal);
                for item in items.iter() {
                    if let Err(e) = self.iterate() {
                        flow = Err(e);
                        break;
                    }
                    self.frame.set_local(var, item.clone());
                    flow = self.render_nodes(&template.nodes, out);
                    if !matches!(flow, Ok(Flow::Normal)) {
                        break;
                    }
                }
                flow
            }
            Some((value, _)) => {
                self.frame.set_local(var, value);
                self.render_nodes(&template.nodes, out)
            }
            None => self.render_nodes(&template.nodes, out),
        };
        self.frame.scopes.pop();
        result
    }

    fn render_isolated(
        &mut self,
        template: &crate::Template,
        args: Vec<(Arc<str>, Value)>,
        bound: Option<(Value, bool)>,
        var: &Arc<str>,
        out: &mut String,
    ) -> R<Flow> {
        let saved = std::mem::take(&mut self.frame);
        let result = match bound {
            Some((Value::Array(items), true)) => {
                let length = items.len();
                let mut result = Ok(());
                for (i, item) in items.iter().enumerate() {
                    let mut scope = args.clone();
                    set(&mut scope, Arc::clone(var), item.clone());
                    self.frame = Frame {
                        scopes: vec![scope],
                        ..Frame::default()
                    };
                    self.frame.loops.push(LoopState {
                        name: Arc::clone(var),
                        index0: i,
                        length,
                        cols: 0,
                        isolated: true,
                    });
                    if let Err(e) = self
                        .iterate()
                        .and_then(|()| self.render_nodes(&template.nodes, out))
                    {
                        result = Err(e);
                        break;
                    }
                }
                result
            }
            other => {
                let mut scope = args;
                if let Some((value, _)) = other {
                    set(&mut scope, Arc::clone(var), value);
                }
                self.frame = Frame {
                    scopes: vec![scope],
                    ..Frame::default()
                };
                self.render_nodes(&template.nodes, out).map(|_| ())
            }
        };
        self.frame = saved;
        result.map(|()| Flow::Normal)
    }
}
