//! Sluice's `date` filter, replacing liquid-rust's, which cannot read the RFC 3339 timestamps
//! and plain dates that profiles and events carry (it passed them through unformatted).

use std::fmt;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{
    Error, Expression, Filter, FilterReflection, ParseFilter, Result, Runtime, Value, ValueView,
};

/// `date: format`, formatted with jiff's strftime (Ruby-compatible for the usual `%Y %m %d
/// %B %b %A %a %H %I %M %S %p %-d %e %j %z`). Accepts RFC 3339 timestamps (rendered in UTC,
/// like every time in the API), `YYYY-MM-DD` dates, and whatever liquid's own `date` reads
/// (`now`, Unix seconds, `2026-01-02 10:00:00 +0100`). Anything else passes through unchanged,
/// as in Shopify's Liquid.
#[derive(Clone)]
pub(super) struct Date;

#[derive(Debug)]
struct DateFilter {
    format: Expression,
}

static DATE_PARAMETERS: [ParameterReflection; 1] = [ParameterReflection {
    name: "format",
    description: "The strftime format, such as \"%B %-d, %Y\".",
    is_optional: false,
}];

impl FilterReflection for Date {
    fn name(&self) -> &str {
        "date"
    }
    fn description(&self) -> &str {
        "Formats a timestamp or date with a strftime format."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &DATE_PARAMETERS
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Date {
    fn parse(&self, mut arguments: FilterArguments) -> Result<Box<dyn Filter>> {
        let format = arguments
            .positional
            .next()
            .ok_or_else(|| Error::with_msg("date needs a format, such as date: \"%Y-%m-%d\""))?;
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(Error::with_msg("date takes one argument, the format"));
        }
        Ok(Box::new(DateFilter { format }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

impl fmt::Display for DateFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "date: {}", self.format)
    }
}

impl Filter for DateFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let format = self.format.evaluate(runtime)?.to_kstr().into_owned();
        let Some(scalar) = input.as_scalar() else {
            return Ok(input.to_value());
        };
        if format.is_empty() {
            return Ok(input.to_value());
        }
        let text = scalar.to_kstr();
        let text = text.as_str().trim();
        let formatted = if let Ok(ts) = text.parse::<Timestamp>() {
            jiff::fmt::strtime::format(format.as_bytes(), ts)
        } else if let Ok(date) = text.parse::<jiff::civil::Date>() {
            jiff::fmt::strtime::format(format.as_bytes(), date)
        } else if let Some(dt) = scalar.to_date_time() {
            // liquid's DateTime derefs to time's OffsetDateTime; only its instant and offset
            // cross over, so all formatting goes through one strftime.
            let zoned = Timestamp::from_second(dt.unix_timestamp()).and_then(|ts| {
                Ok(ts.to_zoned_datetime(TimeZone::fixed(Offset::from_seconds(
                    dt.offset().whole_seconds(),
                )?)))
            });
            match zoned {
                Ok(zoned) => jiff::fmt::strtime::format(format.as_bytes(), &zoned),
                Err(_) => return Ok(input.to_value()),
            }
        } else {
            return Ok(input.to_value());
        };
        formatted
            .map(Value::scalar)
            .map_err(|e| Error::with_msg(format!("invalid date format `{format}`: {e}")))
    }
}
