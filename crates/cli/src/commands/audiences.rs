//! `sluice audiences …`: list, inspect, count and delete audiences.

use anyhow::Result;
use clap::Subcommand;
use serde_json::Value;

use super::{Ctx, delete};
use crate::client::{Paging, seg};
use crate::output::{cell, field, print_json};

#[derive(Debug, Subcommand)]
pub enum AudiencesCmd {
    /// List audiences with their rules in short.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one audience.
    Get { id: String },
    /// Print how many profiles the audience holds now.
    Count { id: String },
    /// Delete an audience (refused, exit 4, while a non-draft campaign or journey uses it).
    Delete {
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: AudiencesCmd) -> Result<()> {
    match cmd {
        AudiencesCmd::List { paging } => {
            let page = ctx.client.list("/api/v1/audiences", &[], &paging).await?;
            ctx.out
                .list(&page, &["id", "name", "rule", "updated"], |a| {
                    vec![
                        field(a, "id"),
                        field(a, "name"),
                        rule_label(a.get("rule").unwrap_or(&Value::Null)),
                        field(a, "updated_at"),
                    ]
                });
        }
        AudiencesCmd::Get { id } => ctx.out.object(&ctx.client.get(&base(&id), &[]).await?),
        AudiencesCmd::Count { id } => {
            let v = ctx.client.get(&format!("{}/count", base(&id)), &[]).await?;
            if ctx.out.is_json() {
                print_json(&v);
            } else {
                println!("{}", field(&v, "count"));
            }
        }
        AudiencesCmd::Delete { id, yes } => {
            let question =
                format!("Delete audience {id}? Drafts that use it will need another audience.");
            delete(ctx, &format!("audience {id}"), &base(&id), &question, yes).await?;
        }
    }
    Ok(())
}

fn base(id: &str) -> String {
    format!("/api/v1/audiences/{}", seg(id))
}

/// A rule in a few words: `(plan eq "vip" and email exists)`, `not (…)`,
/// `event signed_up count_gte 3 within P30D`. Anything unrecognised is shown as JSON.
pub fn rule_label(rule: &Value) -> String {
    label(rule, true)
}

fn label(rule: &Value, top: bool) -> String {
    let Value::Object(map) = rule else {
        return cell(rule);
    };
    for (key, joiner) in [("all", " and "), ("any", " or ")] {
        if let Some(Value::Array(parts)) = map.get(key) {
            if parts.is_empty() {
                return format!("{key}()");
            }
            if let [only] = parts.as_slice() {
                return label(only, top);
            }
            let text = parts
                .iter()
                .map(|p| label(p, false))
                .collect::<Vec<_>>()
                .join(joiner);
            return if top { text } else { format!("({text})") };
        }
    }
    if let Some(inner) = map.get("not") {
        return format!("not {}", label(inner, false));
    }
    let op = field(rule, "op");
    let value = map.get("value").filter(|v| !v.is_null());
    if let Some(attr) = map.get("attr").and_then(Value::as_str) {
        return match value {
            Some(v) => format!("{attr} {op} {v}"),
            None => format!("{attr} {op}"),
        };
    }
    if let Some(event) = map.get("event").and_then(Value::as_str) {
        let mut text = format!("event {event} {op} {}", value.map(cell).unwrap_or_default());
        if let Some(within) = map.get("within").and_then(Value::as_str) {
            text.push_str(&format!(" within {within}"));
        }
        return text;
    }
    rule.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_read_briefly() {
        let r = json!({"attr": "plan", "op": "eq", "value": "member"});
        assert_eq!(rule_label(&r), r#"plan eq "member""#);
        let r = json!({"attr": "email", "op": "exists"});
        assert_eq!(rule_label(&r), "email exists");
        let r = json!({"event": "signed_up", "op": "count_gte", "value": 3, "within": "P30D"});
        assert_eq!(rule_label(&r), "event signed_up count_gte 3 within P30D");
    }

    #[test]
    fn combinations_are_parenthesised_below_the_top() {
        let r = json!({"all": [
            {"attr": "plan", "op": "in", "value": ["vip", "pro"]},
            {"not": {"any": [
                {"attr": "age", "op": "lt", "value": 18},
                {"attr": "banned", "op": "eq", "value": true}
            ]}}
        ]});
        assert_eq!(
            rule_label(&r),
            r#"plan in ["vip","pro"] and not (age lt 18 or banned eq true)"#
        );
        assert_eq!(
            rule_label(&json!({"any": [{"attr": "a", "op": "exists"}]})),
            "a exists"
        );
        let r = json!({"not": {"all": [{"any": [
            {"attr": "a", "op": "exists"}, {"attr": "b", "op": "exists"}
        ]}]}});
        assert_eq!(rule_label(&r), "not (a exists or b exists)");
        assert_eq!(rule_label(&json!({"all": []})), "all()");
        assert_eq!(rule_label(&json!({"weird": 1})), r#"{"weird":1}"#);
    }
}
