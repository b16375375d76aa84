//! Conversions between stored columns and domain values.

use jiff::Timestamp;
use rusqlite::types::Type;
use sluice_store::{Page, PageRequest, StoreError};

pub fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn opt_ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(ts)
}

/// A JSON column, with a decoding failure reported as a column conversion error.
pub fn json<T: serde::de::DeserializeOwned>(idx: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A text column that must parse into an enum.
pub fn parsed<T>(idx: usize, text: &str, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Text,
            format!("unexpected value `{text}`").into(),
        )
    })
}

/// The page limit as SQL wants it, fetching one extra row to know if another page follows.
pub fn limit_plus_one(page: &PageRequest) -> i64 {
    i64::from(page.limit.clamp(1, sluice_store::MAX_PAGE_LIMIT)) + 1
}

/// Cuts the extra row and turns the last kept row's key into the next cursor.
pub fn finish_page<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    key: impl Fn(&T) -> String,
) -> Page<T> {
    let limit = page.limit.clamp(1, sluice_store::MAX_PAGE_LIMIT) as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_cursor }
}
