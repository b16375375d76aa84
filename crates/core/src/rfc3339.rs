//! RFC 3339 instants in JSON, with errors that quote the offending text (so the API can name
//! the field even inside tagged objects, where serde loses the path).

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

fn parse<E: serde::de::Error>(text: &str) -> Result<Timestamp, E> {
    text.parse().map_err(|e| {
        E::custom(format_args!(
            "`{text}` is not an RFC 3339 time such as 2026-05-01T09:00:00Z ({e})"
        ))
    })
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    parse(&String::deserialize(d)?)
}

pub mod option {
    use super::{Deserialize, Deserializer, Timestamp};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::parse(&t))
            .transpose()
    }
}
