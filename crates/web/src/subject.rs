//! The head every campaign and journey page shares: the name, the status, and the tabs (Plan,
//! Results, Versions, Audit, and People for a journey) as a nav of links with `aria-current`,
//! one address per tab so a tab can be linked, reloaded and opened in a new window.

/// Which kind of work a page is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Campaign,
    Journey,
}

impl SubjectKind {
    /// The path segment (`/campaigns/…`, `/journeys/…`).
    pub fn segment(self) -> &'static str {
        match self {
            Self::Campaign => "campaigns",
            Self::Journey => "journeys",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Self::Campaign => "Campaign",
            Self::Journey => "Journey",
        }
    }
}

/// One tab of a subject page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Plan,
    People,
    Results,
    Versions,
    Audit,
}

impl Tab {
    fn label(self) -> &'static str {
        match self {
            Self::Plan => "Plan",
            Self::People => "People",
            Self::Results => "Results",
            Self::Versions => "Versions",
            Self::Audit => "Audit",
        }
    }

    /// The tab's path under the subject's address (the Plan is the subject's own address).
    fn suffix(self) -> &'static str {
        match self {
            Self::Plan => "",
            Self::People => "/people",
            Self::Results => "/results",
            Self::Versions => "/versions",
            Self::Audit => "/audit",
        }
    }

    fn of(kind: SubjectKind) -> &'static [Tab] {
        match kind {
            SubjectKind::Campaign => &[Tab::Plan, Tab::Results, Tab::Versions, Tab::Audit],
            SubjectKind::Journey => &[
                Tab::Plan,
                Tab::People,
                Tab::Results,
                Tab::Versions,
                Tab::Audit,
            ],
        }
    }
}

/// A link of the tab nav.
#[derive(Debug, Clone)]
pub struct TabLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// What `subject_head.html` and `subject_tabs.html` show: a page's template struct names
/// its field `head` and includes both, its actions menu between them:
/// `<div class="subject-bar">{% include "subject_head.html" %}…menu…</div>{% include "subject_tabs.html" %}`.
#[derive(Debug, Clone)]
pub struct SubjectHead {
    pub kind: SubjectKind,
    pub id: String,
    pub name: String,
    /// The status in words ("Live", "Draft v2 in progress", …), shown as a pill.
    pub status: String,
    /// The pill's CSS modifier (`status-live`, …): the status in lower case, one word.
    pub status_class: String,
    /// A line under the name (e.g. "Version 3 of 4"); empty for none.
    pub subtitle: String,
    pub tabs: Vec<TabLink>,
}

impl SubjectHead {
    pub fn new(kind: SubjectKind, id: &str, name: &str, status: &str, current: Tab) -> Self {
        let base = subject_href(kind, id);
        Self {
            kind,
            id: id.to_owned(),
            name: name.to_owned(),
            status: status.to_owned(),
            status_class: format!(
                "status-{}",
                status
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_lowercase()
            ),
            subtitle: String::new(),
            tabs: Tab::of(kind)
                .iter()
                .map(|&t| TabLink {
                    label: t.label(),
                    href: format!("{base}{}", t.suffix()),
                    current: t == current,
                })
                .collect(),
        }
    }

    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = subtitle.into();
        self
    }

    /// The subject's own address (its Plan tab).
    pub fn href(&self) -> String {
        subject_href(self.kind, &self.id)
    }
}

/// `/campaigns/{id}` or `/journeys/{id}`, the id percent-encoded.
pub fn subject_href(kind: SubjectKind, id: &str) -> String {
    format!("/{}/{}", kind.segment(), encode(id))
}

/// One path segment, percent-encoded.
pub fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_link_to_one_address_each_and_mark_the_current_one() {
        let head = SubjectHead::new(SubjectKind::Journey, "j 1", "Welcome", "Live", Tab::People);
        let hrefs: Vec<_> = head.tabs.iter().map(|t| t.href.as_str()).collect();
        assert_eq!(
            hrefs,
            [
                "/journeys/j+1",
                "/journeys/j+1/people",
                "/journeys/j+1/results",
                "/journeys/j+1/versions",
                "/journeys/j+1/audit"
            ]
        );
        let current: Vec<_> = head.tabs.iter().filter(|t| t.current).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].label, "People");
        assert_eq!(head.status_class, "status-live");
    }

    #[test]
    fn a_campaign_has_no_people_tab() {
        let head = SubjectHead::new(SubjectKind::Campaign, "c", "N", "Draft", Tab::Plan);
        assert!(head.tabs.iter().all(|t| t.label != "People"));
    }
}
