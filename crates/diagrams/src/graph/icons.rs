//! Small line icons, one per node kind, drawn in a 16 × 16 box with `currentColor` strokes, so
//! a node's kind shows as a picture as well as a word.

use super::NodeKind;

/// SVG elements of the icon for `kind`, without a wrapper.
pub(crate) fn icon(kind: NodeKind) -> &'static str {
    match kind {
        // An envelope.
        NodeKind::Message => {
            r#"<rect x="1.5" y="3.5" width="13" height="9" rx="1.5"/><path d="M2 4.5 8 9l6-4.5"/>"#
        }
        // A clock.
        NodeKind::Wait => r#"<circle cx="8" cy="8" r="6"/><path d="M8 4.5V8l2.5 1.5"/>"#,
        // A fork: one way in, two ways out.
        NodeKind::Condition => r#"<path d="M8 2v5M8 7 3.5 12.5M8 7l4.5 5.5"/>"#,
        // A pencil.
        NodeKind::UpdateProfile => r#"<path d="M3 13l.8-3.2L10.5 3l2.5 2.5-6.7 6.7z"/>"#,
        // A circle with a minus: taken out.
        NodeKind::RemoveFromJourney => r#"<circle cx="8" cy="8" r="6"/><path d="M5 8h6"/>"#,
        // A flag at the finish.
        NodeKind::End => r#"<path d="M4 14V2.5M4 3h8l-2 3 2 3H4"/>"#,
        // A question mark.
        NodeKind::Missing => {
            r#"<path d="M5.5 6a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .8-1 1.5V11"/><circle cx="8" cy="13.2" r=".4"/>"#
        }
    }
}
