//! `IsoDuration`: a positive ISO 8601 duration (`PT10M`, `P1D`, `P1M`), added to instants in UTC.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use jiff::fmt::temporal::SpanParser;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Only the ISO 8601 grammar: jiff's `Span::from_str` also takes its "friendly" format
/// (`1 day`), which the API contract does not promise and other clients could not produce.
static PARSER: SpanParser = SpanParser::new();

/// A strictly positive ISO 8601 duration. Calendar units (days, weeks, months, years) stay
/// calendar units, so `P1M` after January 31 is the last day of February, not 30 days later.
#[derive(Clone, Copy)]
pub struct IsoDuration(Span);

impl IsoDuration {
    /// Parses the ISO 8601 form; refuses empty, negative, zero and non-ISO (friendly) input.
    pub fn parse(input: &str) -> Result<IsoDuration, String> {
        let text = input.trim();
        if text.is_empty() {
            return Err("a duration is required, in ISO 8601 form such as PT10M or P1D".into());
        }
        if text.starts_with('-') || text.starts_with('+') {
            return Err(format!(
                "duration `{text}` must be positive and have no sign"
            ));
        }
        // jiff accepts lowercase designators; the contract writes them uppercase, and one
        // spelling keeps stored definitions comparable as text.
        if !text.starts_with('P') || text.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(format!(
                "`{text}` is not an ISO 8601 duration: write it like PT10M, PT1H30M, P1D, P1W \
                 or P1M (uppercase, starting with P)"
            ));
        }
        let span = PARSER
            .parse_span(text)
            .map_err(|e| format!("`{text}` is not a valid ISO 8601 duration: {e}"))?;
        if span.is_zero() {
            return Err(format!("duration `{text}` must be longer than zero"));
        }
        if span.is_negative() {
            return Err(format!("duration `{text}` must be positive"));
        }
        Ok(IsoDuration(span))
    }

    pub fn as_span(&self) -> Span {
        self.0
    }

    /// `t` plus this duration, in the UTC calendar: a day is a UTC calendar day (always 24
    /// hours) and months clamp to the month's last day. `None` only past jiff's supported range.
    pub fn after(&self, t: Timestamp) -> Option<Timestamp> {
        t.to_zoned_datetime(TimeZone::UTC)
            .checked_add(self.0)
            .ok()
            .map(|z| z.timestamp())
    }

    /// `t` minus this duration, in the UTC calendar (the start of a `within` window).
    pub fn before(&self, t: Timestamp) -> Option<Timestamp> {
        t.to_zoned_datetime(TimeZone::UTC)
            .checked_sub(self.0)
            .ok()
            .map(|z| z.timestamp())
    }
}

impl fmt::Debug for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IsoDuration({self})")
    }
}

impl fmt::Display for IsoDuration {
    /// jiff's plain `Display` for `Span` is the ISO 8601 (temporal) printer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Field by field, so `P1D` and `PT24H` differ: they do differ across a month or leap second
/// boundary in other time zones, and the stored definition should round-trip unchanged.
impl PartialEq for IsoDuration {
    fn eq(&self, other: &Self) -> bool {
        self.0.fieldwise() == other.0.fieldwise()
    }
}

impl Eq for IsoDuration {}

impl FromStr for IsoDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IsoDuration::parse(s)
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Cow so a borrowed &str is not copied, while escaped JSON strings still work.
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        IsoDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for IsoDuration {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Duration)))
            .description(Some(
                "A positive ISO 8601 duration, such as PT10M, PT1H30M, P1D, P1W or P1M.",
            ))
            .examples(["P1D"])
            .into()
    }
}

impl utoipa::ToSchema for IsoDuration {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IsoDuration")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn accepts_the_contract_examples_and_prints_them_back() {
        for text in [
            "PT10M",
            "P1D",
            "P91D",
            "P1M",
            "PT1H30M",
            "P1W",
            "P1Y2M3DT4H5M6S",
        ] {
            let d = IsoDuration::parse(text).expect(text);
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn refuses_empty_negative_zero_friendly_and_lowercase() {
        for text in [
            "", "  ", "-P1D", "+P1D", "P0D", "PT0S", "P", "PT", "1 day", "1d", "2h 30m", "p1d",
            "P1d", "pt10m", "10M", "P1H", "PT1D", "P1DT",
        ] {
            let err = IsoDuration::parse(text).expect_err(text);
            assert!(!err.is_empty(), "{text}");
        }
    }

    #[test]
    fn after_uses_utc_calendar_days_and_clamps_months() {
        let d = |s: &str| IsoDuration::parse(s).expect(s);
        assert_eq!(
            d("PT10M").after(ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-01-01T00:10:00Z"))
        );
        assert_eq!(
            d("P1D").after(ts("2026-03-28T12:00:00Z")),
            Some(ts("2026-03-29T12:00:00Z"))
        );
        assert_eq!(
            d("P1W").after(ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-01-08T00:00:00Z"))
        );
        assert_eq!(
            d("P1M").after(ts("2026-01-31T09:00:00Z")),
            Some(ts("2026-02-28T09:00:00Z"))
        );
        assert_eq!(
            d("P1M").after(ts("2028-01-31T09:00:00Z")),
            Some(ts("2028-02-29T09:00:00Z"))
        );
        assert_eq!(
            d("P91D").after(ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-04-02T00:00:00Z"))
        );
        assert_eq!(
            d("PT1H30M").after(ts("2026-01-01T23:00:00Z")),
            Some(ts("2026-01-02T00:30:00Z"))
        );
        assert_eq!(d("P1D").after(Timestamp::MAX), None);
        assert_eq!(
            d("P1M").before(ts("2026-03-31T09:00:00Z")),
            Some(ts("2026-02-28T09:00:00Z"))
        );
        assert_eq!(
            d("P30D").before(ts("2026-03-01T00:00:00Z")),
            Some(ts("2026-01-30T00:00:00Z"))
        );
        assert_eq!(d("P1D").before(Timestamp::MIN), None);
    }

    #[test]
    fn serde_round_trip_and_clear_errors() {
        let d: IsoDuration = serde_json::from_str("\"P7D\"").expect("valid");
        assert_eq!(d, IsoDuration::parse("P7D").expect("valid"));
        assert_eq!(serde_json::to_string(&d).expect("serialize"), "\"P7D\"");
        let err = serde_json::from_str::<IsoDuration>("\"7 days\"").expect_err("friendly");
        assert!(err.to_string().contains("ISO 8601"), "{err}");
        assert!(serde_json::from_str::<IsoDuration>("7").is_err());
    }

    #[test]
    fn schema_is_a_string_with_an_example() {
        let json = serde_json::to_value(<IsoDuration as utoipa::PartialSchema>::schema())
            .expect("schema serializes");
        assert_eq!(json["type"], "string");
        assert_eq!(json["examples"][0], "P1D");
    }
}
