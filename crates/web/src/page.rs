//! The layout every page shares (header, nav, the signed-in caller, the unread badge), and
//! the pages that say why something failed: 404, 500, a refused lifecycle action, a missing
//! permission. A command's field errors go back to the form that was posted, each at its
//! field ([`FieldErrors`]).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use sluice_commands::Error;
use sluice_core::ValidationErrors;

use crate::assets;
use crate::session::Signed;

/// One entry of the nav.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// Unread notifications, for the badge ("99+" past the cap); `None` when there are none.
    pub badge: Option<String>,
}

const NAV: [(&str, &str, &str); 7] = [
    ("campaigns", "/campaigns", "Campaigns"),
    ("journeys", "/journeys", "Journeys"),
    ("audiences", "/audiences", "Audiences"),
    ("templates", "/templates", "Templates"),
    ("channels", "/channels", "Channels"),
    ("notifications", "/notifications", "Notifications"),
    ("audit", "/audit", "Audit"),
];

/// What the layout shows around a page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// Empty for a visitor who is not signed in (no nav, no caller).
    pub nav: Vec<NavItem>,
    pub actor: String,
    pub role: &'static str,
    /// The session's CSRF token, for the page's forms (the sign-out form among them).
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub icon: String,
}

impl Layout {
    /// The layout for a visitor who is not signed in.
    pub fn bare(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            nav: Vec::new(),
            actor: String::new(),
            role: "",
            csrf: String::new(),
            css: assets::url("sluice.css"),
            js: assets::url("sluice.js"),
            icon: assets::url("icon.svg"),
        }
    }

    pub(crate) async fn signed(signed: &Signed, title: String, current: &'static str) -> Self {
        // The badge is a nicety: a failed count leaves it out rather than failing the page.
        let unread = signed
            .commands()
            .unread_notifications(&signed.caller)
            .await
            .map_err(|e| tracing::warn!(error = %e, "counting unread notifications"))
            .ok();
        let badge = unread.and_then(|u| match (u.count, u.more) {
            (0, _) => None,
            (n, false) => Some(n.to_string()),
            (n, true) => Some(format!("{n}+")),
        });
        Self {
            nav: NAV
                .iter()
                .map(|&(key, href, label)| NavItem {
                    href,
                    label,
                    current: key == current,
                    badge: if key == "notifications" {
                        badge.clone()
                    } else {
                        None
                    },
                })
                .collect(),
            actor: signed.caller.actor.clone(),
            role: signed.caller.role.as_str(),
            csrf: signed.session.csrf.clone(),
            ..Self::bare(title)
        }
    }

    pub fn signed_in(&self) -> bool {
        !self.nav.is_empty()
    }
}

/// Field errors of a posted form, for its template: `errors.at("name")` beside each field,
/// `errors.others()` in a summary for those no field shows.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    errors: Vec<(String, String)>,
    shown: Vec<&'static str>,
}

impl FieldErrors {
    /// `shown` names the fields the form has; errors at other fields go to the summary.
    pub fn new(errors: &ValidationErrors, shown: &[&'static str]) -> Self {
        Self {
            errors: errors
                .0
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
            shown: shown.to_vec(),
        }
    }

    /// The first message at `field`, or at a field under it (`schedule.cron` for `schedule`).
    pub fn at(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| {
                f == field
                    || f.strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
            .map(|(_, m)| m.as_str())
    }

    /// Errors at fields the form does not show, as "field: message".
    pub fn others(&self) -> Vec<String> {
        self.errors
            .iter()
            .filter(|(f, _)| !self.shown.iter().any(|s| self.at_field(f, s)))
            .map(|(f, m)| {
                if f.is_empty() {
                    m.clone()
                } else {
                    format!("{f}: {m}")
                }
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    fn at_field(&self, error_field: &str, shown: &str) -> bool {
        error_field == shown
            || error_field
                .strip_prefix(shown)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    }
}

/// A page that says why something failed, with its status.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    /// Lines under the message: field errors, the actions allowed now.
    pub details: Vec<String>,
    layout: Option<Layout>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: &'a Layout,
    error: &'a PageError,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            details: Vec::new(),
            layout: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    /// Shown in the caller's layout rather than the bare one.
    #[must_use]
    pub fn in_layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Why a command did not happen, as a page: a refused lifecycle action names the status
    /// and what is allowed now; invalid input lists its fields (a form shows them at each
    /// field instead, through [`FieldErrors`]); a storage failure is logged and told as a 500
    /// that leaks nothing.
    pub fn from_command(e: Error) -> Self {
        match e {
            Error::NotFound(what) => Self::not_found(capitalized(&what)),
            Error::Invalid(v) => {
                let mut page = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Some values are not valid",
                    "Nothing was changed.",
                );
                page.details = v.0.iter().map(ToString::to_string).collect();
                page
            }
            Error::Refused(r) => {
                let mut message = format!(
                    "The {} is {}: “{}” is not possible now{}. Nothing was changed.",
                    r.subject,
                    r.current_status,
                    r.action,
                    r.reason
                        .as_deref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default()
                );
                if r.allowed_actions.is_empty() {
                    message.push_str(" No action is possible in this status.");
                }
                let mut page = Self::new(StatusCode::CONFLICT, "Not possible now", message);
                if !r.allowed_actions.is_empty() {
                    page.details = vec![format!("Possible now: {}", r.allowed_actions.join(", "))];
                }
                page
            }
            Error::Conflict(m) => Self::new(
                StatusCode::CONFLICT,
                "Not possible now",
                format!("{}. Nothing was changed.", capitalized(&m)),
            ),
            Error::Forbidden(m) => Self::new(
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("{}.", capitalized(&m)),
            ),
            Error::Store(e) => {
                tracing::error!(error = %e, "a page's storage call failed");
                Self::server_error()
            }
            Error::Failed(m) => {
                tracing::error!(error = %m, "a page's command failed");
                Self::server_error()
            }
        }
    }

    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Sluice could not finish this request, and nothing was changed by it. The server \
             log has the details; try again in a moment.",
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let bare;
        let layout = match &self.layout {
            Some(l) => l,
            None => {
                bare = Layout::bare(self.title.clone());
                &bare
            }
        };
        let page = ErrorPage {
            layout,
            error: &self,
        };
        render(self.status, &page)
    }
}

/// A template as a response with `status`; a template that fails to render is a logged 500.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// Any path no page takes; a signed-in caller gets the 404 page in their layout.
pub async fn not_found(signed: Option<Signed>) -> Response {
    let error = PageError::not_found("There is no page at this address.");
    match signed {
        Some(s) => error
            .in_layout(s.layout("Not found", "").await)
            .into_response(),
        None => error.into_response(),
    }
}

/// A panic in a page (already unwound): the 500 page, and the panic in the log.
pub fn panicked(panic: &(dyn std::any::Any + Send)) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    tracing::error!(panic = message, "a page panicked");
    PageError::server_error().into_response()
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
