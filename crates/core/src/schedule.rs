//! `Schedule`: when a campaign (or an audience-entry journey) runs; cron is evaluated on the wall
//! clock of an IANA time zone, DST included, and every answer is a UTC instant.
//!
//! Cron: five fields (minute hour day-of-month month day-of-week), with `*`, lists, ranges,
//! steps, `JAN`–`DEC`, `SUN`–`SAT`, `@daily`-style nicknames and croner's `L`, `W`, `#`
//! extensions. A sixth (seconds) field is refused: sends are planned to the minute, and a
//! seconds field would make `0 9 * * *`-style patterns ambiguous to readers.
//!
//! Daylight saving time, as croner 4 implements it and the tests below pin down:
//! - a fixed time of day (`30 2 * * *`) that does not exist on a spring-forward day runs at
//!   the first instant after the gap (03:00 local in Europe/Berlin), once;
//! - a fixed time of day that happens twice on a fall-back day runs once, at the first one;
//! - interval patterns (`*/30 * * * *`) follow real time: they skip the missing hour and run in
//!   both copies of the repeated hour.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

/// When to run. JSON: `{"type":"immediate"}`, `{"type":"once","at":"2026-05-01T09:00:00Z"}`,
/// `{"type":"recurring","cron":"0 9 * * MON-FRI","timezone":"Europe/Berlin","start"?,"end"?}`,
/// `{"type":"api"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", from = "ScheduleJson")]
pub enum Schedule {
    /// As soon as the version is activated.
    Immediate,
    /// Once, at `at` (RFC 3339).
    Once {
        #[schema(value_type = String, format = DateTime, example = "2026-05-01T09:00:00Z")]
        at: Timestamp,
    },
    /// Every time `cron` matches the wall clock of `timezone`, within `[start, end]`.
    Recurring {
        #[schema(example = "0 9 * * MON-FRI")]
        cron: String,
        /// An IANA time zone name.
        #[schema(example = "Europe/Berlin")]
        timezone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>, format = DateTime)]
        start: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>, format = DateTime)]
        end: Option<Timestamp>,
    },
    /// Only when triggered through the API, one profile at a time.
    Api,
}

/// The accepted JSON. serde ignores unknown fields next to the tag of a unit variant even
/// under `deny_unknown_fields`, so the unit kinds are read as empty struct variants here.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ScheduleJson {
    Immediate {},
    Once {
        #[serde(deserialize_with = "crate::rfc3339::deserialize")]
        at: Timestamp,
    },
    Recurring {
        cron: String,
        timezone: String,
        #[serde(default, deserialize_with = "crate::rfc3339::option::deserialize")]
        start: Option<Timestamp>,
        #[serde(default, deserialize_with = "crate::rfc3339::option::deserialize")]
        end: Option<Timestamp>,
    },
    Api {},
}

impl From<ScheduleJson> for Schedule {
    fn from(json: ScheduleJson) -> Self {
        match json {
            ScheduleJson::Immediate {} => Self::Immediate,
            ScheduleJson::Once { at } => Self::Once { at },
            ScheduleJson::Recurring {
                cron,
                timezone,
                start,
                end,
            } => Self::Recurring {
                cron,
                timezone,
                start,
                end,
            },
            ScheduleJson::Api {} => Self::Api,
        }
    }
}

impl Schedule {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Once { .. } => "once",
            Self::Recurring { .. } => "recurring",
            Self::Api => "api",
        }
    }

    pub fn is_recurring(&self) -> bool {
        matches!(self, Self::Recurring { .. })
    }

    /// Checks the schedule as of `now`; field names are relative to the schedule object.
    pub fn validate(&self, now: Timestamp) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        match self {
            Self::Immediate | Self::Api => {}
            Self::Once { at } => {
                if *at < now {
                    errors.push("at", format!("{at} is in the past (now is {now})"));
                }
            }
            Self::Recurring {
                cron,
                timezone,
                start,
                end,
            } => {
                let parsed = parse_cron(cron).map_err(|m| errors.push("cron", m)).ok();
                let tz = parse_timezone(timezone)
                    .map_err(|m| errors.push("timezone", m))
                    .ok();
                let mut window_ok = true;
                if let (Some(start), Some(end)) = (start, end)
                    && start >= end
                {
                    errors.push("end", format!("end {end} must be after start {start}"));
                    window_ok = false;
                }
                if let Some(end) = end
                    && *end < now
                {
                    errors.push("end", format!("{end} is in the past (now is {now})"));
                    window_ok = false;
                }
                // Only meaningful once everything it depends on is valid; otherwise the
                // user would get a second, derivative error for the same mistake.
                if let (Some(cron_expr), Some(tz), true) = (parsed, tz, window_ok)
                    && first_fire(&cron_expr, tz, now, *start, *end).is_none()
                {
                    let message = match end {
                        Some(end) => format!("`{cron}` never fires in {timezone} before {end}"),
                        None => format!("`{cron}` never fires"),
                    };
                    errors.push("cron", message);
                }
            }
        }
        errors.into_result()
    }

    /// The first run of a version activated at `now`. Immediate: `now`; once: `at` (even if
    /// past, so a late activation still runs it: `validate` refuses past times beforehand);
    /// recurring: the first fire time at or after `max(now, start)` and not after `end`;
    /// api: `None`.
    pub fn first_run(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Immediate => Some(now),
            Self::Once { at } => Some(*at),
            Self::Recurring {
                cron,
                timezone,
                start,
                end,
            } => {
                let (cron, tz) = (parse_cron(cron).ok()?, parse_timezone(timezone).ok()?);
                first_fire(&cron, tz, now, *start, *end)
            }
            Self::Api => None,
        }
    }

    /// For recurring schedules, the first fire time strictly after `after`, not before
    /// `start` and not after `end`; `None` for the other kinds, which run once at most.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let Self::Recurring {
            cron,
            timezone,
            start,
            end,
        } = self
        else {
            return None;
        };
        let (cron, tz) = (parse_cron(cron).ok()?, parse_timezone(timezone).ok()?);
        match start {
            Some(start) if *start > after => first_fire(&cron, tz, *start, None, *end),
            _ => fire_after(&cron, tz, after, false).filter(|t| end.is_none_or(|end| *t <= end)),
        }
    }
}

/// The first fire at or after `max(from, start)`, not after `end`.
fn first_fire(
    cron: &Cron,
    tz: Tz,
    from: Timestamp,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> Option<Timestamp> {
    let from = start.map_or(from, |s| s.max(from));
    fire_after(cron, tz, from, true).filter(|t| end.is_none_or(|end| *t <= end))
}

/// Croner works in whole seconds and fires only on whole minutes here. Dropping a fraction
/// and searching exclusively gives "strictly after" for any fractional `from`, and searching
/// inclusively from a whole second gives "at or after".
fn fire_after(cron: &Cron, tz: Tz, from: Timestamp, inclusive: bool) -> Option<Timestamp> {
    let (mut secs, nanos) = (from.as_second(), from.subsec_nanosecond());
    if nanos < 0 {
        secs -= 1; // before 1970 the fraction counts backwards; floor to the second
    }
    let inclusive = inclusive && nanos == 0;
    let origin = DateTime::<Utc>::from_timestamp(secs, 0)?.with_timezone(&tz);
    // An error is a pattern that matches nothing within croner's search horizon.
    let fire = cron.find_next_occurrence(&origin, inclusive).ok()?;
    Timestamp::new(fire.timestamp(), 0).ok()
}

fn parse_timezone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| {
        format!("`{name}` is not an IANA time zone name (like Europe/Berlin or America/New_York)")
    })
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// Parses a five-field cron expression. Names are checked per field here because croner
/// substitutes them anywhere in the pattern (`0 9 * MON *` would silently mean January).
pub(crate) fn parse_cron(expr: &str) -> Result<Cron, String> {
    let expr = expr.trim();
    if expr.is_empty() {
        return Err("a cron expression is required, such as `0 9 * * MON-FRI`".into());
    }
    if !expr.starts_with('@') {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() == 6 {
            return Err(format!(
                "`{expr}` has 6 fields; a seconds field is not supported: use 5 fields \
                 (minute hour day-of-month month day-of-week)"
            ));
        }
        if fields.len() != 5 {
            return Err(format!(
                "`{expr}` has {} fields; use 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            ));
        }
        for (index, field) in fields.iter().enumerate() {
            check_names(FIELDS[index], field)?;
        }
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("`{expr}` is not a valid cron expression: {e}"))
}

fn check_names(field_name: &str, field: &str) -> Result<(), String> {
    let upper = field.to_ascii_uppercase();
    let words = upper
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty());
    for word in words {
        let allowed = match field_name {
            "month" => MONTHS.contains(&word),
            "day-of-week" => WEEKDAYS.contains(&word) || word == "L",
            "day-of-month" => matches!(word, "L" | "W" | "LW"),
            _ => false,
        };
        if !allowed {
            return Err(format!(
                "`{word}` is not allowed in the {field_name} field (`{field}`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
