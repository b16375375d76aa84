//! Builds the node tree from tokens: block tags and their bodies, each tag's markup parsed
//! by `expr`. Blocks whose bodies print nothing but whitespace drop that whitespace, as
//! Shopify's Liquid does.

use std::sync::Arc;

use crate::ast::{Case, CaseArm, Cycle, Expr, ForLoop, If, Include, IncludeKind, Node, Offset};
use crate::expr::{ExprError, Parser, Tok};
use crate::lexer::{Kind, Token};
use crate::value::Value;

/// Blocks nest at most this deep, so neither parsing nor rendering recurses without bound.
pub const MAX_NESTING: usize = 64;

pub(crate) struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl From<ExprError> for ParseError {
    fn from(e: ExprError) -> ParseError {
        ParseError {
            offset: e.offset,
            message: e.message,
        }
    }
}

type R<T> = Result<T, ParseError>;

pub(crate) struct TreeParser<'s> {
    source: &'s str,
    tokens: Vec<Token<'s>>,
    pos: usize,
    depth: usize,
    max_loop: u64,
    partials: bool,
    /// Where each line starts, to give nodes their line without rescanning the source.
    line_starts: Vec<usize>,
}

fn err<T>(offset: usize, message: impl Into<String>) -> R<T> {
    Err(ParseError {
        offset,
        message: message.into(),
    })
}

impl<'s> TreeParser<'s> {
    pub fn new(source: &'s str, tokens: Vec<Token<'s>>, limits: &crate::Limits) -> TreeParser<'s> {
        TreeParser {
            source,
            tokens,
            pos: 0,
            depth: 0,
            max_loop: limits.max_loop_iterations,
            partials: limits.partials,
            line_starts: std::iter::once(0)
                .chain(source.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        }
    }

    fn line(&self, offset: usize) -> u32 {
        let n = self.line_starts.partition_point(|&start| start <= offset);
        u32::try_from(n).unwrap_or(u32::MAX).max(1)
    }

    pub fn parse_document(&mut self) -> R<Vec<Node>> {
        let (nodes, _) = self.block("", &[])?;
        Ok(nodes)
    }

    /// Parses nodes up to one of the `ends` tags, returning it (None at the end of input,
    /// which is an error inside a block).
    fn block(&mut self, opener: &str, ends: &[&str]) -> R<(Vec<Node>, Option<Token<'s>>)> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let at = self.tokens.get(self.pos).map_or(0, |t| t.offset);
            return err(at, format!("blocks nest more than {MAX_NESTING} deep"));
        }
        let mut nodes = Vec::new();
        let result = loop {
            let Some(token) = self.tokens.get(self.pos).cloned() else {
                if let Some(end) = ends.last() {
                    let line = line_of(self.source, self.opener_offset(opener));
                    break err(
                        self.source.len(),
                        format!("`{opener}` on line {line} is never closed with `{{% {end} %}}`"),
                    );
                }
                break Ok((nodes, None));
            };
            self.pos += 1;
            match token.kind {
                Kind::Text | Kind::Raw => {
                    if !token.body.is_empty() {
                        nodes.push(Node::Text(token.body.into()));
                    }
                }
                Kind::Output => {
                    let mut output = Parser::new(token.body, token.body_offset)?.output()?;
                    output.line = self.line(token.offset);
                    nodes.push(Node::Output(Box::new(output)));
                }
                Kind::Tag => {
                    if ends.contains(&token.name) {
                        break Ok((nodes, Some(token)));
                    }
                    match self.tag(&token) {
                        Ok(Some(node)) => nodes.push(node),
                        Ok(None) => {}
                        Err(e) => break Err(e),
                    }
                }
            }
        };
        self.depth -= 1;
        result
    }

    fn opener_offset(&self, name: &str) -> usize {
        self.tokens
            .iter()
            .take(self.pos)
            .rev()
            .find(|t| t.kind == Kind::Tag && t.name == name)
            .map_or(0, |t| t.offset)
    }

    fn tag(&mut self, t: &Token<'s>) -> R<Option<Node>> {
        let node = match t.name {
            "if" | "unless" => self.if_tag(t)?,
            "case" => self.case_tag(t)?,
            "for" | "tablerow" => self.for_tag(t)?,
            "capture" => {
                let name = target_name(t.body, t.body_offset)?;
                let (body, _) = self.block("capture", &["endcapture"])?;
                Node::Capture(name, body)
            }
            "ifchanged" => {
                let (body, _) = self.block("ifchanged", &["endifchanged"])?;
                Node::IfChanged(body)
            }
            "comment" => {
                self.skip_comment(t)?;
                Node::Nothing
            }
            "raw" => {
                let text = self.raw_body("endraw");
                Node::Text(text.into())
            }
            "doc" => {
                if !t.body.is_empty() {
                    return err(t.body_offset, "`doc` takes no arguments");
                }
                self.raw_body("enddoc");
                Node::Nothing
            }
            "liquid" => {
                // Its lines form a block of their own (they cannot close a block opened
                // outside), kept as one node: an `if true` needs no node kind of its own.
                let (body, _) = self.block("liquid", &["endliquid"])?;
                return Ok(Some(Node::If(Box::new(If {
                    negate_first: false,
                    branches: vec![(crate::ast::Cond::Expr(Expr::Lit(Value::Bool(true))), body)],
                    otherwise: None,
                }))));
            }
            "#" => {
                if !t.in_liquid
                    && t.body
                        .lines()
                        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                {
                    return err(
                        t.body_offset,
                        "each line of an inline comment starts with `#`",
                    );
                }
                Node::Nothing
            }
            "assign" => {
                let eq = t.body.find('=').ok_or_else(|| ParseError {
                    offset: t.body_offset,
                    message: "expected `assign name = value`".into(),
                })?;
                let target = t.body.get(..eq).unwrap_or("");
                let name = target_name(target, t.body_offset)?;
                let rest = t.body.get(eq + 1..).unwrap_or("");
                let mut output = Parser::new(rest, t.body_offset + eq + 1)?.output()?;
                output.line = self.line(t.offset);
                Node::Assign(name, Box::new(output))
            }
            "echo" => {
                if t.body.trim().is_empty() {
                    Node::Output(Box::new(crate::ast::Output {
                        expr: Expr::Lit(Value::Nil),
                        filters: Vec::new(),
                        line: self.line(t.offset),
                    }))
                } else {
                    let mut output = Parser::new(t.body, t.body_offset)?.output()?;
                    output.line = self.line(t.offset);
                    Node::Output(Box::new(output))
                }
            }
            "increment" | "decrement" => {
                let name = target_name(t.body, t.body_offset)?;
                if t.name == "increment" {
                    Node::Increment(name)
                } else {
                    Node::Decrement(name)
                }
            }
            "cycle" => self.cycle_tag(t)?,
            "break" => Node::Break,
            "continue" => Node::Continue,
            "include" | "render" if !self.partials => {
                return err(
                    t.offset,
                    format!(
                        "`{{% {} %}}` renders a partial, and these templates have none: put \
                         its content here",
                        t.name
                    ),
                );
            }
            "include" | "render" => self.include_tag(t)?,
            "" => return err(t.offset, "expected a tag name after `{%`"),
            "else" | "elsif" | "when" | "endif" | "endunless" | "endcase" | "endfor"
            | "endtablerow" | "endcapture" | "endcomment" | "endraw" | "enddoc"
            | "endifchanged" | "endliquid" => {
                return err(t.offset, format!("unexpected `{}` here", t.name));
            }
            other => return err(t.offset, format!("unknown tag `{other}`")),
        };
        Ok(Some(node))
    }

    fn raw_body(&mut self, end: &str) -> &'s str {
        let mut text = "";
        if let Some(t) = self.tokens.get(self.pos)
            && t.kind == Kind::Raw
        {
            text = t.body;
            self.pos += 1;
        }
        if self.tokens.get(self.pos).is_some_and(|t| t.name == end) {
            self.pos += 1;
        }
        text
    }

    fn skip_comment(&mut self, open: &Token<'s>) -> R<()> {
        let mut depth = 1usize;
        while let Some(t) = self.tokens.get(self.pos) {
            self.pos += 1;
            if t.kind != Kind::Tag {
                continue;
            }
            match t.name {
                "comment" => depth += 1,
                "endcomment" => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        let line = line_of(self.source, open.offset);
        err(
            self.source.len(),
            format!("`comment` on line {line} is never closed with `{{% endcomment %}}`"),
        )
    }

    fn if_tag(&mut self, t: &Token<'s>) -> R<Node> {
        let end = if t.name == "if" { "endif" } else { "endunless" };
        let mut cond = condition(t)?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        loop {
            let (body, closer) = self.block(t.name, &["elsif", "else", end])?;
            match closer {
                Some(c) if c.name == "elsif" => {
                    branches.push((cond, body));
                    cond = condition(&c)?;
                }
                Some(c) if c.name == "else" => {
                    branches.push((cond, body));
                    // Anything after the first `else` (more `else` or `elsif`) is never shown.
                    let (body, mut closer) = self.block(t.name, &["elsif", "else", end])?;
                    while closer.as_ref().is_some_and(|c| c.name != end) {
                        (_, closer) = self.block(t.name, &["elsif", "else", end])?;
                    }
                    otherwise = Some(body);
                    break;
                }
                _ => {
                    branches.push((cond, body));
                    break;
                }
            }
        }
        let mut node = If {
            negate_first: t.name == "unless",
            branches,
            otherwise,
        };
        if node.branches.iter().all(|(_, b)| is_blank(b))
            && node.otherwise.as_ref().is_none_or(|b| is_blank(b))
        {
            for (_, body) in &mut node.branches {
                strip_blank(body);
            }
            if let Some(body) = &mut node.otherwise {
                strip_blank(body);
            }
        }
        Ok(Node::If(Box::new(node)))
    }

    fn case_tag(&mut self, t: &Token<'s>) -> R<Node> {
        let mut p = Parser::new(t.body, t.body_offset)?;
        let subject = p.primary()?;
        p.expect_end()?;
        // Whatever comes between `case` and the first `when` is ignored.
        let (_, mut closer) = self.block("case", &["when", "else", "endcase"])?;
        let mut arms = Vec::new();
        while let Some(c) = closer.take() {
            if c.name == "endcase" {
                break;
            }
            let (body, next) = self.block("case", &["when", "else", "endcase"])?;
            if c.name == "when" {
                arms.push(CaseArm::When(when_values(&c)?, body));
            } else {
                arms.push(CaseArm::Else(body));
            }
            closer = next;
        }
        let blank = arms.iter().all(|a| match a {
            CaseArm::When(_, b) | CaseArm::Else(b) => is_blank(b),
        });
        if blank {
            for arm in &mut arms {
                match arm {
                    CaseArm::When(_, b) | CaseArm::Else(b) => strip_blank(b),
                }
            }
        }
        Ok(Node::Case(Box::new(Case { subject, arms })))
    }

    fn for_tag(&mut self, t: &Token<'s>) -> R<Node> {
        let is_for = t.name == "for";
        let mut p = Parser::new(t.body, t.body_offset)?;
        let var = match p.next() {
            Tok::Ident(v) => Arc::<str>::from(v),
            _ => {
                return err(
                    t.body_offset,
                    format!("expected `{} item in collection`", t.name),
                );
            }
        };
        if !p.eat_word("in") {
            p.unexpected::<()>("`in`")?;
        }
        let from = p.offset();
        let collection = p.primary()?;
        let to = p.offset();
        let src = self.source.get(from..to).unwrap_or("").trim();
        let name = Arc::from(format!("{var}-{src}"));
        let (mut limit, mut offset, mut cols, mut reversed) = (None, None, None, false);
        loop {
            p.eat(&Tok::Comma);
            let param_at = p.offset();
            match p.next() {
                Tok::End => break,
                Tok::Ident("reversed") => reversed = true,
                Tok::Ident(word @ ("limit" | "offset" | "cols")) => {
                    p.expect(&Tok::Colon, "`:`")?;
                    if word == "offset" && p.eat_word("continue") {
                        offset = Some(Offset::Continue);
                    } else {
                        let value = p.primary()?;
                        match word {
                            "limit" => limit = Some(value),
                            "offset" => offset = Some(Offset::Expr(value)),
                            _ if !is_for => cols = Some(value),
                            _ => return err(param_at, "`cols` is for tablerow"),
                        }
                    }
                }
                _ => {
                    return err(
                        param_at,
                        "expected `limit:`, `offset:`, `reversed` or the end of the tag",
                    );
                }
            }
        }
        if let Expr::Range(a, b) = &collection
            && let (Expr::Lit(a), Expr::Lit(b)) = (&**a, &**b)
        {
            let (a, b) = (literal_int(a), literal_int(b));
            let n = Value::range_len(a, b);
            if n > self.max_loop {
                return err(
                    t.offset,
                    format!(
                        "this loop would run {n} times; the limit is {}",
                        self.max_loop
                    ),
                );
            }
        }
        let end = if is_for { "endfor" } else { "endtablerow" };
        let ends: &[&str] = if is_for { &["else", end] } else { &[end] };
        let (mut body, closer) = self.block(t.name, ends)?;
        let mut otherwise = None;
        if closer.is_some_and(|c| c.name == "else") {
            otherwise = Some(self.block(t.name, &[end])?.0);
        }
        if is_for && is_blank(&body) && otherwise.as_ref().is_none_or(|b| is_blank(b)) {
            strip_blank(&mut body);
            if let Some(b) = &mut otherwise {
                strip_blank(b);
            }
        }
        let node = Box::new(ForLoop {
            line: self.line(t.offset),
            var,
            name,
            collection,
            limit,
            offset,
            cols,
            reversed,
            body,
            otherwise,
        });
        Ok(if is_for {
            Node::For(node)
        } else {
            Node::Tablerow(node)
        })
    }

    fn cycle_tag(&mut self, t: &Token<'s>) -> R<Node> {
        let mut p = Parser::new(t.body, t.body_offset)?;
        let first = p.primary()?;
        let mut group = None;
        let mut items = Vec::new();
        let mut key_from = t.body_offset;
        if p.eat(&Tok::Colon) {
            group = Some(first);
            key_from = p.offset();
            items.push(p.primary()?);
        } else {
            items.push(first);
        }
        while p.eat(&Tok::Comma) {
            items.push(p.primary()?);
        }
        p.expect_end()?;
        let key = self
            .source
            .get(key_from..t.body_offset + t.body.len())
            .unwrap_or("")
            .split_whitespace()
            .collect::<String>();
        Ok(Node::Cycle(Box::new(Cycle {
            group,
            key: Arc::from(key),
            items,
        })))
    }

    fn include_tag(&mut self, t: &Token<'s>) -> R<Node> {
        let kind = if t.name == "include" {
            IncludeKind::Include
        } else {
            IncludeKind::Render
        };
        let mut p = Parser::new(t.body, t.body_offset)?;
        let name = p.primary()?;
        if kind == IncludeKind::Render && !matches!(name, Expr::Lit(Value::Str(_))) {
            return err(
                t.body_offset,
                "`render` takes the partial's name as a quoted string",
            );
        }
        let mut bind = None;
        let mut alias = None;
        if matches!(p.peek(), Tok::Ident("with" | "for")) && !matches!(p.peek_at(1), Tok::Colon) {
            let is_for = p.eat_word("for");
            if !is_for {
                p.eat_word("with");
            }
            bind = Some((p.primary()?, is_for));
            if p.eat_word("as") {
                match p.next() {
                    Tok::Ident(a) => alias = Some(Arc::from(a)),
                    _ => return err(p.offset(), "expected a name after `as`"),
                }
            }
        }
        let mut args = Vec::new();
        loop {
            p.eat(&Tok::Comma);
            match p.next() {
                Tok::End => break,
                Tok::Ident(key) => {
                    p.expect(&Tok::Colon, "`:` after the argument name")?;
                    args.push((Arc::from(key), p.primary()?));
                }
                _ => return err(p.offset(), "expected `name: value` arguments"),
            }
        }
        Ok(Node::Include(Box::new(Include {
            kind,
            name,
            bind,
            alias,
            args,
        })))
    }
}

fn literal_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        _ => 0,
    }
}

fn condition(t: &Token<'_>) -> R<crate::ast::Cond> {
    let mut p = Parser::new(t.body, t.body_offset)?;
    let cond = p.condition()?;
    p.expect_end()?;
    Ok(cond)
}

fn when_values(t: &Token<'_>) -> R<Vec<Expr>> {
    let mut p = Parser::new(t.body, t.body_offset)?;
    let mut values = vec![p.primary()?];
    while p.eat(&Tok::Comma) || p.eat_word("or") {
        values.push(p.primary()?);
    }
    p.expect_end()?;
    Ok(values)
}

/// The variable `assign`, `capture`, `increment` and `decrement` write: letters, digits,
/// `_` and `-`, not starting with `-`.
fn target_name(text: &str, offset: usize) -> R<Arc<str>> {
    let name = text.trim();
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if name.is_empty() {
        err(offset, "expected a variable name")
    } else if valid {
        Ok(Arc::from(name))
    } else {
        err(offset, format!("`{name}` is not a valid variable name"))
    }
}

/// True when the nodes print nothing but whitespace whatever the data.
pub(crate) fn is_blank(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(t) => t
            .trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b')
            .is_empty(),
        Node::Assign(..) | Node::Capture(..) | Node::Nothing => true,
        Node::If(i) => {
            i.branches.iter().all(|(_, b)| is_blank(b))
                && i.otherwise.as_ref().is_none_or(|b| is_blank(b))
        }
        Node::Case(c) => c.arms.iter().all(|a| match a {
            CaseArm::When(_, b) | CaseArm::Else(b) => is_blank(b),
        }),
        Node::For(f) => is_blank(&f.body) && f.otherwise.as_ref().is_none_or(|b| is_blank(b)),
        _ => false,
    })
}

fn strip_blank(nodes: &mut Vec<Node>) {
    nodes.retain(|n| !matches!(n, Node::Text(_)));
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(source: &str, offset: usize) -> u32 {
    let end = offset.min(source.len());
    let n = source
        .as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    u32::try_from(n).map_or(u32::MAX, |n| n.saturating_add(1))
}

/// 1-based column (in characters) of a byte offset.
pub(crate) fn column_of(source: &str, offset: usize) -> u32 {
    let end = offset.min(source.len());
    let before = source.as_bytes().get(..end).unwrap_or(&[]);
    let line_start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let text = source.get(line_start..end).unwrap_or("");
    u32::try_from(text.chars().count()).map_or(u32::MAX, |n| n.saturating_add(1))
}
