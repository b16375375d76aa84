//! Expressions inside tags and outputs: a tokenizer and a recursive-descent parser for
//! literals, variable paths, ranges, filter chains and conditions. Errors carry the byte
//! offset (within the source) of the token at fault.

use std::sync::Arc;

use crate::ast::{Cond, Expr, FilterCall, Op, Output, Path, Segment};
use crate::filters;
use crate::value::Value;

/// Brackets and parentheses nest at most this deep, so parsing recursion stays bounded.
const MAX_EXPR_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'s> {
    Ident(&'s str),
    Str(&'s str),
    Int(i64),
    Float(f64),
    Dot,
    DotDot,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Pipe,
    Colon,
    Comma,
    Assign,
    Op(Op),
    End,
}

#[derive(Debug)]
pub(crate) struct ExprError {
    pub offset: usize,
    pub message: String,
}

type R<T> = Result<T, ExprError>;

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Splits markup into tokens; `base` is the markup's offset in the template source.
pub(crate) fn tokenize(markup: &str, base: usize) -> R<Vec<(Tok<'_>, usize)>> {
    let bytes = markup.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        let start = i;
        let at = base + start;
        let next = bytes.get(i + 1).copied();
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                let close = markup
                    .get(i + 1..)
                    .and_then(|rest| rest.find(c as char))
                    .ok_or_else(|| ExprError {
                        offset: at,
                        message: "this string is never closed".into(),
                    })?;
                let text = markup.get(i + 1..i + 1 + close).unwrap_or("");
                i += close + 2;
                Tok::Str(text)
            }
            b'0'..=b'9' => number(markup, &mut i, at)?,
            b'-' if next.is_some_and(|n| n.is_ascii_digit()) => number(markup, &mut i, at)?,
            c if is_ident_start(c) => {
                while bytes.get(i).is_some_and(|&b| is_ident_char(b)) {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'?') {
                    i += 1;
                }
                Tok::Ident(markup.get(start..i).unwrap_or(""))
            }
            b'.' if next == Some(b'.') => {
                i += 2;
                Tok::DotDot
            }
            b'.' => {
                i += 1;
                Tok::Dot
            }
            b'[' | b']' | b'(' | b')' | b'|' | b':' | b',' => {
                i += 1;
                match c {
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'|' => Tok::Pipe,
                    b':' => Tok::Colon,
                    _ => Tok::Comma,
                }
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = markup.get(i..i + 2).unwrap_or("");
                let (tok, len) = match two {
                    "==" => (Tok::Op(Op::Eq), 2),
                    "!=" | "<>" => (Tok::Op(Op::Ne), 2),
                    "<=" => (Tok::Op(Op::Le), 2),
                    ">=" => (Tok::Op(Op::Ge), 2),
                    _ => match c {
                        b'<' => (Tok::Op(Op::Lt), 1),
                        b'>' => (Tok::Op(Op::Gt), 1),
                        b'=' => (Tok::Assign, 1),
                        _ => {
                            return Err(ExprError {
                                offset: at,
                                message: "unexpected `!`".into(),
                            });
                        }
                    },
                };
                i += len;
                tok
            }
            _ => {
                let ch = markup
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                return Err(ExprError {
                    offset: at,
                    message: format!("unexpected character `{ch}`"),
                });
            }
        };
        toks.push((tok, at));
    }
    toks.push((Tok::End, base + markup.len()));
    Ok(toks)
}

fn number<'s>(markup: &'s str, i: &mut usize, at: usize) -> R<Tok<'s>> {
    let bytes = markup.as_bytes();
    let start = *i;
    if bytes.get(*i) == Some(&b'-') {
        *i += 1;
    }
    while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    let is_float =
        bytes.get(*i) == Some(&b'.') && bytes.get(*i + 1).is_some_and(u8::is_ascii_digit);
    if is_float {
        *i += 1;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    }
    let text = markup.get(start..*i).unwrap_or("0");
    if is_float {
        text.parse().map(Tok::Float).map_err(|_| ExprError {
            offset: at,
            message: format!("`{text}` is not a number"),
        })
    } else {
        Ok(text
            .parse()
            .map(Tok::Int)
            .unwrap_or_else(|_| Tok::Float(text.parse().unwrap_or(0.0))))
    }
}

/// A cursor over one markup's tokens.
pub(crate) struct Parser<'s> {
    toks: Vec<(Tok<'s>, usize)>,
    pos: usize,
    depth: usize,
}

impl<'s> Parser<'s> {
    pub fn new(markup: &'s str, base: usize) -> R<Parser<'s>> {
        Ok(Parser {
            toks: tokenize(markup, base)?,
            pos: 0,
            depth: 0,
        })
    }

    pub fn peek(&self) -> &Tok<'s> {
        self.toks.get(self.pos).map_or(&Tok::End, |(t, _)| t)
    }

    pub fn peek_at(&self, n: usize) -> &Tok<'s> {
        self.toks.get(self.pos + n).map_or(&Tok::End, |(t, _)| t)
    }

    pub fn offset(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(0, |(_, o)| *o)
    }

    pub fn next(&mut self) -> Tok<'s> {
        let tok = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        tok
    }

    pub fn error<T>(&self, message: impl Into<String>) -> R<T> {
        Err(ExprError {
            offset: self.offset(),
            message: message.into(),
        })
    }

    pub fn unexpected<T>(&self, wanted: &str) -> R<T> {
        let found = describe(self.peek());
        self.error(format!("expected {wanted}, found {found}"))
    }

    pub fn expect(&mut self, tok: &Tok<'_>, wanted: &str) -> R<()> {
        if self.peek() == tok {
            self.next();
            Ok(())
        } else {
            self.unexpected(wanted)
        }
    }

    pub fn at_end(&self) -> bool {
        matches!(self.peek(), Tok::End)
    }

    pub fn expect_end(&self) -> R<()> {
        if self.at_end() {
            Ok(())
        } else {
            self.unexpected("the end of the tag")
        }
    }

    pub fn eat(&mut self, tok: &Tok<'_>) -> bool {
        if self.peek() == tok {
            self.next();
            true
        } else {
            false
        }
    }

    pub fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(w) if *w == word) {
            self.next();
            true
        } else {
            false
        }
    }

    /// A literal, a range or a variable path.
    pub fn primary(&mut self) -> R<Expr> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return self.error("the expression nests too deeply");
        }
        let result = self.primary_inner();
        self.depth -= 1;
        result
    }

    fn primary_inner(&mut self) -> R<Expr> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Lit(Value::str(s)))
            }
            Tok::Int(i) => {
                self.next();
                Ok(Expr::Lit(Value::Int(i)))
            }
            Tok::Float(f) => {
                self.next();
                Ok(Expr::Lit(Value::Float(f)))
            }
            Tok::LParen => {
                self.next();
                let start = self.primary()?;
                self.expect(&Tok::DotDot, "`..` in a range")?;
                let end = self.primary()?;
                self.expect(&Tok::RParen, "`)` closing the range")?;
                Ok(Expr::Range(Box::new(start), Box::new(end)))
            }
            Tok::Ident(word) => {
                let literal = match word {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    "nil" | "null" => Some(Value::Nil),
                    "empty" => Some(Value::Empty),
                    "blank" => Some(Value::Blank),
                    _ => None,
                };
                if let Some(v) = literal
                    && !matches!(self.peek_at(1), Tok::Dot | Tok::LBracket)
                {
                    self.next();
                    return Ok(Expr::Lit(v));
                }
                self.next();
                self.path(Segment::Key(Arc::from(word)))
            }
            Tok::LBracket => {
                self.next();
                let key = self.bracket()?;
                self.path(key)
            }
            _ => self.unexpected("a value"),
        }
    }

    /// The inside of `[...]`, after the `[`.
    fn bracket(&mut self) -> R<Segment> {
        let seg = match self.peek().clone() {
            Tok::Str(s) if matches!(self.peek_at(1), Tok::RBracket) => {
                self.next();
                Segment::Key(Arc::from(s))
            }
            Tok::Int(i) if matches!(self.peek_at(1), Tok::RBracket) => {
                self.next();
                Segment::Index(i)
            }
            _ => Segment::Dynamic(self.primary()?),
        };
        self.expect(&Tok::RBracket, "`]`")?;
        Ok(seg)
    }

    fn path(&mut self, root: Segment) -> R<Expr> {
        let mut rest = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.next();
                    match self.next() {
                        Tok::Ident(w) => rest.push(Segment::Key(Arc::from(w))),
                        _ => {
                            self.pos = self.pos.saturating_sub(1);
                            return self.unexpected("a property name after `.`");
                        }
                    }
                }
                Tok::LBracket => {
                    self.next();
                    rest.push(self.bracket()?);
                }
                _ => break,
            }
        }
        Ok(Expr::Path(Box::new(Path { root, rest })))
    }

    /// `expr | filter: args | ...` up to the end of the markup.
    pub fn output(&mut self) -> R<Output> {
        let expr = self.primary()?;
        let filters = self.filters()?;
        self.expect_end()?;
        Ok(Output {
            expr,
            filters,
            line: 0,
        })
    }

    pub fn filters(&mut self) -> R<Vec<FilterCall>> {
        let mut filters = Vec::new();
        while self.eat(&Tok::Pipe) {
            let at = self.offset();
            let Tok::Ident(name) = self.next() else {
                self.pos = self.pos.saturating_sub(1);
                return self.unexpected("a filter name after `|`");
            };
            let mut args = Vec::new();
            let mut kwargs = Vec::new();
            if self.eat(&Tok::Colon) {
                loop {
                    if let (Tok::Ident(key), Tok::Colon) = (self.peek().clone(), self.peek_at(1)) {
                        self.next();
                        self.next();
                        kwargs.push((Arc::from(key), self.primary()?));
                    } else {
                        args.push(self.primary()?);
                    }
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            }
            let (name, func) =
                filters::lookup(name, args.len(), &kwargs).map_err(|message| ExprError {
                    offset: at,
                    message,
                })?;
            filters.push(FilterCall {
                name,
                func,
                args,
                kwargs,
            });
        }
        Ok(filters)
    }

    /// `a == b and c contains d or e`; `and` and `or` bind equally, grouping from the right.
    pub fn condition(&mut self) -> R<Cond> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH * 4 {
            return self.error("the condition is too long");
        }
        let left = self.comparison()?;
        let result = if self.eat_word("and") {
            Ok(Cond::And(Box::new(left), Box::new(self.condition()?)))
        } else if self.eat_word("or") {
            Ok(Cond::Or(Box::new(left), Box::new(self.condition()?)))
        } else {
            Ok(left)
        };
        self.depth -= 1;
        result
    }

    fn comparison(&mut self) -> R<Cond> {
        let left = self.primary()?;
        let op = match self.peek() {
            Tok::Op(op) => *op,
            Tok::Ident("contains") => Op::Contains,
            Tok::End | Tok::Ident("and" | "or") => return Ok(Cond::Expr(left)),
            _ => return self.unexpected("an operator, `and`, `or` or the end of the tag"),
        };
        self.next();
        let right = self.primary()?;
        Ok(Cond::Cmp(left, op, right))
    }
}

pub(crate) fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::Ident(w) => format!("`{w}`"),
        Tok::Str(s) => format!("the string '{s}'"),
        Tok::Int(i) => format!("`{i}`"),
        Tok::Float(f) => format!("`{f}`"),
        Tok::Dot => "`.`".into(),
        Tok::DotDot => "`..`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Pipe => "`|`".into(),
        Tok::Colon => "`:`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Assign => "`=`".into(),
        Tok::Op(_) => "an operator".into(),
        Tok::End => "the end of the tag".into(),
    }
}
