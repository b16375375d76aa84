//! "Is the server's object already what the file says?" — the comparison behind `unchanged`.
//!
//! The comparison is one-sided: every field the file gives must match the server, fields the
//! file leaves out are the server's business (defaults, ids, timestamps, statuses). So
//! applying the same file twice compares equal even though the server adds fields.

use serde_json::Value;

/// How to treat a field the file gives but the server's answer lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// It differs (the server would return it if it were set).
    Differs,
    /// It is a secret the server never returns (channel `config`): it cannot be compared,
    /// so it does not count as a difference.
    Secret,
}

/// True when everything in `desired` is present and equal in `actual`.
pub fn matches(desired: &Value, actual: &Value, missing: Missing) -> bool {
    match (desired, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().all(|(k, w)| match have.get(k) {
            Some(h) if missing == Missing::Secret && is_redacted(h) => true,
            Some(h) => matches(w, h, missing),
            // `null` in the file means "not set", and so does an absent field on the server.
            None => w.is_null() || missing == Missing::Secret,
        }),
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(w, h)| matches(w, h, missing))
        }
        (Value::Number(w), Value::Number(h)) => w == h || w.as_f64() == h.as_f64(),
        (Value::String(w), Value::String(h)) => w == h || same_instant(w, h),
        (w, h) => w == h,
    }
}

/// Compares a channel: its settings strictly, its `config` with secrets left out.
pub fn channel_matches(desired: &Value, actual: &Value) -> bool {
    let (Value::Object(want), Value::Object(have)) = (desired, actual) else {
        return false;
    };
    want.iter().all(|(k, w)| {
        let h = have.get(k).unwrap_or(&Value::Null);
        if k == "config" {
            matches(w, h, Missing::Secret)
        } else {
            matches(w, h, Missing::Differs)
        }
    })
}

/// `2026-01-01T09:00:00Z` and `2026-01-01T10:00:00+01:00` are the same schedule.
fn same_instant(a: &str, b: &str) -> bool {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Masked secrets some servers return instead of leaving the field out.
fn is_redacted(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => {
            let t = s.trim_matches(|c| c == '[' || c == ']' || c == '<' || c == '>');
            (!s.is_empty() && s.chars().all(|c| c == '*' || c == '•'))
                || t.eq_ignore_ascii_case("redacted")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_additions_do_not_count() {
        let want = json!({"name": "vips", "rule": {"attr": "plan", "op": "eq", "value": "vip"}});
        let have = json!({"id": "a1", "name": "vips", "created_at": "2026-01-01T00:00:00Z",
                          "rule": {"attr": "plan", "op": "eq", "value": "vip"}});
        assert!(matches(&want, &have, Missing::Differs));
    }

    #[test]
    fn a_changed_or_missing_field_differs() {
        let have = json!({"name": "t", "body": "Hi", "nodes": [{"id": "a", "next": null}]});
        assert!(!matches(&json!({"body": "Hello"}), &have, Missing::Differs));
        assert!(!matches(&json!({"subject": "x"}), &have, Missing::Differs));
        assert!(matches(&json!({"subject": null}), &have, Missing::Differs));
        assert!(matches(
            &json!({"nodes": [{"id": "a"}]}),
            &have,
            Missing::Differs
        ));
        assert!(!matches(
            &json!({"nodes": [{"id": "a"}, {"id": "b"}]}),
            &have,
            Missing::Differs
        ));
    }

    #[test]
    fn numbers_and_instants_compare_by_value() {
        assert!(matches(
            &json!({"n": 1}),
            &json!({"n": 1.0}),
            Missing::Differs
        ));
        let want = json!({"schedule": {"type": "once", "at": "2026-03-01T10:00:00+01:00"}});
        let have = json!({"schedule": {"type": "once", "at": "2026-03-01T09:00:00Z"}});
        assert!(matches(&want, &have, Missing::Differs));
    }

    #[test]
    fn channel_secrets_are_not_compared() {
        let want = json!({"name": "mail", "type": "email",
                          "config": {"host": "smtp", "port": 587, "password": "hunter2"}});
        let omitted = json!({"id": "c", "name": "mail", "type": "email",
                             "config": {"host": "smtp", "port": 587}});
        let masked = json!({"id": "c", "name": "mail", "type": "email",
                            "config": {"host": "smtp", "port": 587, "password": "********"}});
        assert!(channel_matches(&want, &omitted));
        assert!(channel_matches(&want, &masked));
        let moved =
            json!({"name": "mail", "type": "email", "config": {"host": "smtp2", "port": 587}});
        assert!(!channel_matches(&want, &moved));
        assert!(!channel_matches(
            &json!({"name": "mail", "rate_limit_per_second": 5}),
            &omitted
        ));
    }
}
