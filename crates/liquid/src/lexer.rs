//! Splits a template into text, `{{ output }}` and `{% tag %}` tokens, applies whitespace
//! control (`{{-`, `-%}`), reads `raw` and `doc` bodies verbatim, and splits a `liquid` tag
//! into one tag per line. Every token keeps its byte offset for error positions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// Text from a `raw` block, never trimmed.
    Raw,
    Output,
    Tag,
}

#[derive(Debug, Clone)]
pub(crate) struct Token<'s> {
    pub kind: Kind,
    /// Tag name (`#` for an inline comment); empty for other kinds.
    pub name: &'s str,
    /// Text, output expression or tag markup.
    pub body: &'s str,
    /// Offset of the token's start in the source.
    pub offset: usize,
    /// Offset of `body` in the source.
    pub body_offset: usize,
    /// The tag came from a `liquid` tag's line (no `{% %}` of its own).
    pub in_liquid: bool,
    pub trim_left: bool,
    pub trim_right: bool,
}

#[derive(Debug)]
pub(crate) struct LexError {
    pub offset: usize,
    pub message: String,
}

/// Liquid's whitespace for trimming: ASCII space, tab, newlines, vertical tab, form feed.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

fn tag_name(markup: &str) -> (&str, &str) {
    let trimmed = markup.trim_start_matches(is_ws);
    if trimmed.starts_with('#') {
        return ("#", trimmed);
    }
    let end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    let (name, rest) = trimmed.split_at(end);
    (name, rest.trim_matches(is_ws))
}

fn offset_in(source: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(source.as_ptr() as usize)
}

pub(crate) fn lex(source: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let bytes = source.as_bytes();
    while pos < source.len() {
        let rest = source.get(pos..).unwrap_or("");
        let Some(open) = find_open(rest) else {
            tokens.push(text(source, pos, source.len()));
            break;
        };
        if open > 0 {
            tokens.push(text(source, pos, pos + open));
        }
        let start = pos + open;
        let is_tag = bytes.get(start + 1) == Some(&b'%');
        let close_pat = if is_tag { "%}" } else { "}}" };
        let inner_start = start + 2;
        let Some(close) = source.get(inner_start..).and_then(|s| s.find(close_pat)) else {
            return Err(LexError {
                offset: start,
                message: if is_tag {
                    "this tag is never closed with `%}`".into()
                } else {
                    "this output is never closed with `}}`".into()
                },
            });
        };
        let mut inner = source.get(inner_start..inner_start + close).unwrap_or("");
        pos = inner_start + close + 2;
        let trim_left = inner.starts_with('-');
        if trim_left {
            inner = inner.get(1..).unwrap_or("");
        }
        let trim_right = inner.ends_with('-');
        if trim_right {
            inner = inner.get(..inner.len() - 1).unwrap_or("");
        }
        if !is_tag {
            let body = inner.trim_matches(is_ws);
            tokens.push(Token {
                kind: Kind::Output,
                name: "",
                body,
                offset: start,
                body_offset: offset_in(source, body),
                in_liquid: false,
                trim_left,
                trim_right,
            });
            continue;
        }
        let (name, markup) = tag_name(inner);
        let token = Token {
            kind: Kind::Tag,
            name,
            body: markup,
            offset: start,
            body_offset: offset_in(source, markup),
            in_liquid: false,
            trim_left,
            trim_right,
        };
        if name == "raw" || name == "doc" {
            let end_name = if name == "raw" { "endraw" } else { "enddoc" };
            let Some((body_end, end_tag)) = find_end_tag(source, pos, end_name) else {
                return Err(LexError {
                    offset: start,
                    message: format!("`{name}` is never closed with `{{% {end_name} %}}`"),
                });
            };
            let body = source.get(pos..body_end).unwrap_or("");
            tokens.push(token);
            tokens.push(Token {
                kind: Kind::Raw,
                name: "",
                body,
                offset: pos,
                body_offset: pos,
                in_liquid: false,
                trim_left: false,
                trim_right: false,
            });
            tokens.push(end_tag);
            pos = end_tag_end(source, body_end);
            continue;
        }
        if name == "liquid" {
            tokens.push(Token {
                body: "",
                ..token.clone()
            });
            lex_liquid(source, markup, &mut tokens);
            tokens.push(Token {
                name: "endliquid",
                body: "",
                ..token
            });
            continue;
        }
        tokens.push(token);
    }
    apply_trim(&mut tokens);
    Ok(tokens)
}

fn text(source: &str, from: usize, to: usize) -> Token<'_> {
    Token {
        kind: Kind::Text,
        name: "",
        body: source.get(from..to).unwrap_or(""),
        offset: from,
        body_offset: from,
        in_liquid: false,
        trim_left: false,
        trim_right: false,
    }
}

fn find_open(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = s.get(from..).and_then(|r| r.find('{')) {
        let at = from + i;
        if matches!(bytes.get(at + 1), Some(b'{' | b'%')) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Finds `{% end_name %}` (any whitespace control) from `from`; returns where it starts and
/// its token.
fn find_end_tag<'s>(source: &'s str, from: usize, end_name: &str) -> Option<(usize, Token<'s>)> {
    let mut at = from;
    loop {
        let i = source.get(at..)?.find("{%")?;
        let start = at + i;
        let mut inner = source.get(start + 2..)?;
        let trim_left = inner.starts_with('-');
        if trim_left {
            inner = inner.get(1..)?;
        }
        let stripped = inner.trim_start_matches(is_ws);
        if let Some(after) = stripped.strip_prefix(end_name) {
            let after_ws = after.trim_start_matches(is_ws);
            let trim_right = after_ws.starts_with("-%}");
            if trim_right || after_ws.starts_with("%}") {
                return Some((
                    start,
                    Token {
                        kind: Kind::Tag,
                        name: if end_name == "endraw" {
                            "endraw"
                        } else {
                            "enddoc"
                        },
                        body: "",
                        offset: start,
                        body_offset: start,
                        in_liquid: false,
                        trim_left,
                        trim_right,
                    },
                ));
            }
        }
        at = start + 2;
    }
}

fn end_tag_end(source: &str, start: usize) -> usize {
    source
        .get(start..)
        .and_then(|s| s.find("%}"))
        .map_or(source.len(), |i| start + i + 2)
}

/// One tag per non-blank line; `#` lines are comments; a nested `liquid` line is itself
/// split further.
fn lex_liquid<'s>(source: &'s str, markup: &'s str, tokens: &mut Vec<Token<'s>>) {
    for line in markup.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_matches(is_ws);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (name, rest) = tag_name(trimmed);
        if name == "liquid" {
            lex_liquid(source, rest, tokens);
            continue;
        }
        tokens.push(Token {
            kind: Kind::Tag,
            name,
            body: rest,
            offset: offset_in(source, trimmed),
            body_offset: offset_in(source, rest),
            in_liquid: true,
            trim_left: false,
            trim_right: false,
        });
    }
}

fn apply_trim(tokens: &mut [Token<'_>]) {
    for i in 0..tokens.len() {
        let Some(token) = tokens.get(i) else { continue };
        if token.kind != Kind::Text {
            continue;
        }
        let prev_trims = i
            .checked_sub(1)
            .and_then(|p| tokens.get(p))
            .is_some_and(|t| t.trim_right && t.kind != Kind::Raw);
        let next_trims = tokens.get(i + 1).is_some_and(|t| t.trim_left);
        let mut body = token.body;
        let mut offset = token.body_offset;
        if prev_trims {
            let trimmed = body.trim_start_matches(is_ws);
            offset += body.len() - trimmed.len();
            body = trimmed;
        }
        if next_trims {
            body = body.trim_end_matches(is_ws);
        }
        if let Some(token) = tokens.get_mut(i) {
            token.body = body;
            token.body_offset = offset;
        }
    }
}
