//! The SVG string type and the small text helpers every diagram shares: XML escaping, ids,
//! coordinates and numbers printed the same way on every run.

use std::borrow::Cow;
use std::fmt;

/// The default font stack; the page's CSS may set another on `.sluice-diagram`.
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// An SVG document, ready to embed inline in HTML (it is already escaped: insert it as is, e.g.
/// with askama's `|safe`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Svg(String);

impl Svg {
    pub(crate) fn new(text: String) -> Self {
        Svg(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Svg {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Appends formatted text to a `String`. Writing to a `String` cannot fail, so the result
/// carries no information.
macro_rules! put {
    ($buf:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = write!($buf, $($arg)*);
    }};
}
pub(crate) use put;

/// Text made safe for XML element content and for attribute values in either quote style.
/// Characters XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF) become U+FFFD, so hostile
/// input cannot make the document unparseable.
pub fn escape(text: &str) -> Cow<'_, str> {
    let needs = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || !allowed(c);
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if !allowed(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// An id prefix reduced to characters valid in an XML id and a CSS selector without escapes.
pub(crate) fn id_prefix(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "d-");
    }
    out
}

/// At most `max` characters of `text`, the last one an ellipsis when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

/// A coordinate with at most one decimal, never `-0`, so output is byte-stable and short.
#[derive(Clone, Copy)]
pub(crate) struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.0 * 10.0).round();
        // Saturating float-to-int conversion: any real layout is far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        let tenths = tenths as i64;
        let (sign, abs) = if tenths < 0 {
            ("-", tenths.unsigned_abs())
        } else {
            ("", tenths.unsigned_abs())
        };
        if abs % 10 == 0 {
            write!(f, "{sign}{}", abs / 10)
        } else {
            write!(f, "{sign}{}.{}", abs / 10, abs % 10)
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count short enough for a node box or an axis: exact below 10,000, then `12.3k`, `123k`,
/// `4.5M`, `4.5B`. Exact figures go in titles and tables.
pub fn compact(n: u64) -> String {
    if n < 10_000 {
        return thousands(n);
    }
    let (scaled, unit) = match n {
        0..1_000_000 => (n as f64 / 1e3, "k"),
        1_000_000..1_000_000_000 => (n as f64 / 1e6, "M"),
        _ => (n as f64 / 1e9, "B"),
    };
    if scaled < 100.0 {
        // Truncate rather than round, so 99,999 never reads as the next unit's "100k".
        let tenths = (scaled * 10.0).floor() / 10.0;
        let text = format!("{tenths:.1}");
        format!("{}{unit}", text.trim_end_matches(".0"))
    } else {
        format!("{}{unit}", scaled.floor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\td"), "a\u{FFFD}b\u{FFFD}c\td");
        assert!(matches!(escape("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn numbers_print_stably() {
        assert_eq!(Num(12.0).to_string(), "12");
        assert_eq!(Num(12.25).to_string(), "12.3");
        assert_eq!(Num(-0.01).to_string(), "0");
        assert_eq!(Num(-3.5).to_string(), "-3.5");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(compact(9_999), "9,999");
        assert_eq!(compact(12_345), "12.3k");
        assert_eq!(compact(99_999), "99.9k");
        assert_eq!(compact(100_000), "100k");
        assert_eq!(compact(4_500_000), "4.5M");
        assert_eq!(compact(2_000_000_000), "2B");
    }

    #[test]
    fn ids_and_truncation() {
        assert_eq!(id_prefix("journey 7/v2"), "journey-7-v2");
        assert_eq!(id_prefix("7"), "d-7");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
    }
}
