//! Server-generated ids: a kind prefix, then time-ordered hex, so ids sort by creation and
//! paging by id follows creation order.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn new_id(prefix: &str) -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let random: u32 = rand::random();
    format!("{prefix}_{micros:014x}{random:08x}")
}
