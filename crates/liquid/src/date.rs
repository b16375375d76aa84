//! The `date` filter's input parsing and strftime formatting. Inputs: Unix seconds (numbers
//! or digit strings), `now`/`today` (the caller's time), RFC 3339 and ISO-like timestamps
//! (keeping their offset), plain dates, and English dates such as `March 14, 2016`. Times
//! without an offset are UTC. Formatting is jiff's strftime, which follows Ruby's.

use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::strtime::{self, BrokenDownTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

use crate::value::Value;

/// Formats tried in order on text input (after a `Z` suffix becomes `+00:00`).
const FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%:z",
    "%Y-%m-%d %H:%M:%S %:z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%a, %d %b %Y %H:%M:%S %z",
    "%d %b %Y %H:%M:%S %z",
    "%a %b %d %H:%M:%S %Y",
    "%B %d, %Y %H:%M:%S",
    "%B %d, %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %Y",
];

fn utc(ts: Timestamp) -> ZonedDateTime {
    ts.to_zoned_datetime(TimeZone::UTC)
}

/// The moment a value names, or None when it names none (the filter then leaves it as is).
pub fn parse(v: &Value, now: Option<Timestamp>) -> Option<ZonedDateTime> {
    match v {
        Value::Int(i) => Timestamp::from_second(*i).ok().map(utc),
        Value::Float(f) if f.is_finite() => Timestamp::from_second(*f as i64).ok().map(utc),
        Value::Str(s) => parse_text(s, now),
        _ => None,
    }
}

fn parse_text(s: &str, now: Option<Timestamp>) -> Option<ZonedDateTime> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") || t.eq_ignore_ascii_case("today") {
        return now.map(utc);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return Timestamp::from_second(t.parse().ok()?).ok().map(utc);
    }
    let normalized = match t
        .strip_suffix(" UTC")
        .or_else(|| t.strip_suffix(" GMT"))
        .map(|head| format!("{head} +0000"))
    {
        Some(n) => n,
        None => match t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
            Some(head) => format!("{head}+00:00"),
            None => t.to_owned(),
        },
    };
    for format in FORMATS {
        if let Ok(tm) = BrokenDownTime::parse(format, &normalized)
            && let Some(zoned) = to_zoned(&tm)
        {
            return Some(zoned);
        }
    }
    t.parse::<Timestamp>().ok().map(utc)
}

fn to_zoned(tm: &BrokenDownTime) -> Option<ZonedDateTime> {
    let date = match tm.to_date() {
        Ok(d) => d,
        Err(_) => {
            // `%B %Y`: the first of the month.
            Date::new(tm.year()?, tm.month()?, 1).ok()?
        }
    };
    let time = tm.to_time().unwrap_or(Time::midnight());
    let dt = DateTime::from_parts(date, time);
    let tz = match tm.offset() {
        Some(offset) => TimeZone::fixed(offset),
        None => TimeZone::UTC,
    };
    dt.to_zoned_datetime(tz).ok()
}

/// strftime as Ruby does it.
pub fn format(when: &ZonedDateTime, format: &str) -> Result<String, String> {
    strtime::format(format.as_bytes(), when).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(input: &str, f: &str) -> String {
        let when = parse(&Value::str(input), None).expect("parses");
        format(&when, f).expect("formats")
    }

    #[test]
    fn reads_common_inputs() {
        assert_eq!(fmt("March 14, 2016", "%b %d, %y"), "Mar 14, 16");
        assert_eq!(
            fmt("2026-03-05T14:30:00Z", "%B %-d, %Y %H:%M"),
            "March 5, 2026 14:30"
        );
        assert_eq!(fmt("2026-01-02 10:00:00 +0100", "%H:%M %z"), "10:00 +0100");
        assert_eq!(fmt("1990-05-17", "%d/%m"), "17/05");
        assert_eq!(fmt("1152098955", "%m/%d/%Y"), "07/05/2006");
        assert_eq!(fmt("2026-03-14 10:00:00 UTC", "%H:%M %z"), "10:00 +0000");
        assert_eq!(
            fmt("2026-03-14T10:00:00.250+05:30", "%H:%M %z"),
            "10:00 +0530"
        );
        assert_eq!(
            fmt("Sat, 14 Mar 2026 10:00:00 +0100", "%d %H %z"),
            "14 10 +0100"
        );
        assert_eq!(fmt("14 March 2026", "%Y-%m-%d"), "2026-03-14");
        assert!(parse(&Value::str("soon"), None).is_none());
        assert!(parse(&Value::str("-1152098955"), None).is_none());
    }
}
