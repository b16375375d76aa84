//! Rendering: readable tables for people (comfy-table), the server's JSON, pretty, for scripts.

use comfy_table::{ContentArrangement, Table, presets};
use serde_json::Value;

use crate::client::Page;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for people.
    Table,
    /// The server's JSON, pretty-printed.
    Json,
}

/// Where command results go, in the format the user asked for.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub format: Format,
}

impl Out {
    pub fn is_json(self) -> bool {
        self.format == Format::Json
    }

    /// Prints `v` as JSON in JSON mode, else as a two-column field/value table.
    pub fn object(self, v: &Value) {
        if self.is_json() {
            print_json(v);
        } else {
            print_object(v);
        }
    }

    /// Prints a list: `{items, next_cursor}` in JSON mode, else a table of `columns` whose
    /// cells `row` extracts from each item.
    pub fn list(self, page: &Page, columns: &[&str], row: impl Fn(&Value) -> Vec<String>) {
        if self.is_json() {
            print_json(&page.to_json());
            return;
        }
        print_rows(columns, page.items.iter().map(row).collect());
        if page.next_cursor.is_some() {
            eprintln!("(more items: use --all, or a larger --limit)");
        }
    }
}

pub fn print_json(v: &Value) {
    // Serializing a Value cannot fail: keys are strings and there are no custom impls.
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// A table with the house style; callers add rows.
pub fn new_table(columns: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(columns.iter().map(|c| c.to_uppercase()));
    // A pseudo-terminal may report a width of 0 (e.g. under `script`); wrapping to that
    // would print one letter per line, so only wrap to a plausible width.
    if t.width().is_some_and(|w| w < 40) {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

pub fn print_rows(columns: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("(none)");
        return;
    }
    let mut t = new_table(columns);
    t.add_rows(rows);
    println!("{t}");
}

/// One object as field/value rows; nested objects and arrays are shown as compact JSON.
pub fn print_object(v: &Value) {
    match v {
        Value::Object(map) => {
            let rows = map.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect();
            print_rows(&["field", "value"], rows);
        }
        other => println!("{}", cell(other)),
    }
}

/// A value as table text: strings bare, null empty, structures as compact JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `cell` of `v[key]`, empty when absent.
pub fn field(v: &Value, key: &str) -> String {
    v.get(key).map(cell).unwrap_or_default()
}

/// The keys of `map` with the `preferred` ones first, in that order (serde_json's map is
/// sorted, and "delivered, failed, skipped, cancelled" reads better than alphabetical).
pub fn ordered_keys<'m>(
    map: &'m serde_json::Map<String, Value>,
    preferred: &[&str],
) -> Vec<&'m str> {
    let mut keys: Vec<&str> = preferred
        .iter()
        .filter_map(|p| map.get_key_value(*p).map(|(k, _)| k.as_str()))
        .collect();
    keys.extend(
        map.keys()
            .map(String::as_str)
            .filter(|k| !preferred.contains(k)),
    );
    keys
}

/// The order counters are shown in, as PRODUCT.md lists them.
pub const COUNTER_ORDER: &[&str] = &[
    "entered",
    "active",
    "completed",
    "stopped",
    "removed",
    "timed_out",
    "halted",
    "delivered",
    "failed",
    "skipped",
    "cancelled",
];

/// A counters object (`{delivered: 3, …}`) as one line, `delivered 3, failed 0, …`.
pub fn counters_line(v: &Value) -> String {
    match v {
        Value::Object(map) => ordered_keys(map, COUNTER_ORDER)
            .iter()
            .map(|k| format!("{k} {}", cell(&map[*k])))
            .collect::<Vec<_>>()
            .join(", "),
        other => cell(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_readable() {
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!("live")), "live");
        assert_eq!(cell(&json!(3)), "3");
        assert_eq!(cell(&json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(field(&json!({"a": "x"}), "b"), "");
    }

    #[test]
    fn counters_read_as_a_sentence() {
        let line = counters_line(&json!({"cancelled": 1, "delivered": 3, "failed": 0, "zz": 2}));
        assert_eq!(line, "delivered 3, failed 0, cancelled 1, zz 2");
    }
}
