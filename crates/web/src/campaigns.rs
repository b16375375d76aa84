//! The campaigns list (`GET /campaigns`): name, status (with a flag that opens the draft when
//! a live campaign has one in progress), schedule, channel, audience size, sent so far and
//! last change, filtered by status and searched by name. `?part=rows` answers the table's
//! rows alone, which the live refresher swaps in every two seconds while a send runs. Each
//! row ends with an actions cell, shown on hover and on keyboard focus, for editors only.

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde::Deserialize;
use sluice_commands::{CampaignFilter, CampaignRow, Permission};
use sluice_core::campaign::CampaignStatus;
use sluice_core::schedule::Schedule;

use crate::Web;
use crate::page::{Layout, PageError, render};
use crate::session::Signed;
use crate::subject::encode;

const PAGE_SIZE: u32 = 50;

pub fn routes() -> Router<Web> {
    Router::new().route("/campaigns", get(list))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    part: Option<String>,
}

/// One status filter of the nav above the table.
struct StatusTab {
    label: &'static str,
    href: String,
    current: bool,
}

/// A row as the template shows it: every value already in words.
struct RowView {
    href: String,
    name: String,
    status: &'static str,
    /// "Draft v2 in progress" and the draft's address.
    draft: Option<(String, String)>,
    schedule: String,
    /// A time the schedule names (RFC 3339), shown in the viewer's time zone.
    schedule_at: Option<TimeView>,
    channel: String,
    audience: String,
    audience_size: String,
    sent: String,
    updated: TimeView,
}

/// A `<time>`: machine-readable instant, and a UTC fallback for a browser without script.
struct TimeView {
    iso: String,
    text: String,
}

impl TimeView {
    fn new(t: Timestamp) -> Self {
        Self {
            iso: t.to_string(),
            text: t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    layout: Layout,
    tabs: Vec<StatusTab>,
    status: String,
    q: String,
    rows: Vec<RowView>,
    can_edit: bool,
    live_url: String,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "campaign_rows.html")]
struct RowsPart {
    rows: Vec<RowView>,
    can_edit: bool,
}

async fn list(signed: Signed, Query(query): Query<ListQuery>) -> Result<Response, PageError> {
    let status = CampaignStatus::parse(query.status.trim());
    let q = query.q.trim().to_owned();
    let filter = CampaignFilter {
        status,
        search: Some(q.clone()).filter(|q| !q.is_empty()),
        cursor: query.cursor.clone(),
    };
    let overview = match signed
        .commands()
        .campaign_overview(&signed.caller, filter, PAGE_SIZE)
        .await
    {
        Ok(o) => o,
        Err(e) => return Err(signed.fail(e).await),
    };
    let rows: Vec<RowView> = overview.rows.iter().map(row_view).collect();
    let can_edit = signed.may(Permission::Edit);
    if query.part.as_deref() == Some("rows") {
        return Ok(render(StatusCode::OK, &RowsPart { rows, can_edit }));
    }
    let status_str = status.map_or("", CampaignStatus::as_str);
    let tabs = std::iter::once(("All", None))
        .chain(
            CampaignStatus::ALL
                .into_iter()
                .map(|s| (status_label(s), Some(s))),
        )
        .map(|(label, s)| StatusTab {
            label,
            href: list_href(s.map_or("", CampaignStatus::as_str), &q, None),
            current: s == status,
        })
        .collect();
    let mut live_url = list_href(status_str, &q, query.cursor.as_deref());
    live_url.push_str(if live_url.contains('?') {
        "&part=rows"
    } else {
        "?part=rows"
    });
    let page = ListPage {
        layout: signed.layout("Campaigns", "campaigns").await,
        tabs,
        status: status_str.to_owned(),
        q: q.clone(),
        rows,
        can_edit,
        live_url,
        next_href: overview
            .next_cursor
            .map(|c| list_href(status_str, &q, Some(&c))),
    };
    Ok(render(StatusCode::OK, &page).into_response())
}

/// `/campaigns` with the filters that are set.
fn list_href(status: &str, q: &str, cursor: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !status.is_empty() {
        query.append_pair("status", status);
    }
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if let Some(c) = cursor {
        query.append_pair("cursor", c);
    }
    let query = query.finish();
    if query.is_empty() {
        "/campaigns".to_owned()
    } else {
        format!("/campaigns?{query}")
    }
}

fn status_label(s: CampaignStatus) -> &'static str {
    match s {
        CampaignStatus::Draft => "Draft",
        CampaignStatus::Scheduled => "Scheduled",
        CampaignStatus::Live => "Live",
        CampaignStatus::Paused => "Paused",
        CampaignStatus::Stopped => "Stopped",
        CampaignStatus::Aborted => "Aborted",
        CampaignStatus::Completed => "Completed",
    }
}

fn row_view(r: &CampaignRow) -> RowView {
    let href = format!("/campaigns/{}", encode(&r.id));
    let (schedule, schedule_at) = match &r.schedule {
        Schedule::Immediate => ("One-time, on activation".to_owned(), None),
        Schedule::Once { at } => ("One-time at".to_owned(), Some(TimeView::new(*at))),
        Schedule::Recurring { cron, timezone, .. } => {
            (format!("Recurring: {cron} ({timezone})"), None)
        }
        Schedule::Api => ("Triggered through the API".to_owned(), None),
    };
    let schedule = if r.inbound {
        format!("Inbound (in-app) · {schedule}")
    } else {
        schedule
    };
    RowView {
        draft: r.draft_in_progress().map(|n| {
            (
                format!("Draft v{n} in progress"),
                format!("{href}/versions/{n}"),
            )
        }),
        href,
        name: r.name.clone(),
        status: status_label(r.status),
        schedule,
        schedule_at,
        channel: r.channel.as_ref().map_or_else(
            || format!("(deleted {} channel)", r.channel_type.as_str()),
            |c| c.name.clone(),
        ),
        audience: r
            .audience
            .as_ref()
            .map_or_else(String::new, |a| a.name.clone()),
        audience_size: r.audience_size.map_or_else(|| "—".to_owned(), grouped),
        sent: grouped(r.sent),
        updated: TimeView::new(r.updated_at),
    }
}

/// 1234567 → "1,234,567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn list_links_keep_the_filters() {
        assert_eq!(list_href("", "", None), "/campaigns");
        assert_eq!(
            list_href("live", "spring sale", Some("c1")),
            "/campaigns?status=live&q=spring+sale&cursor=c1"
        );
    }
}
