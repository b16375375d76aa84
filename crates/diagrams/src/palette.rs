//! The default colours. Every colour that carries meaning (text, an edge, a bar) has at least
//! 4.5:1 contrast against white (WCAG AA for text, more than the 3:1 graphics need), and none
//! carries meaning alone: words, icons, dashes and patterns say the same thing.

/// Body text where `currentColor` is not inherited (rsvg, a standalone file).
pub(crate) const MUTED: &str = "#57606a";
pub(crate) const BORDER: &str = "#6e7781";
pub(crate) const GRID: &str = "#d0d7de";
pub(crate) const EDGE: &str = "#57606a";
/// Loops back against the flow: a colour of their own, and dashed.
pub(crate) const BACK_EDGE: &str = "#a0306c";
pub(crate) const MISSING: &str = "#cf222e";
pub(crate) const SURFACE: &str = "#ffffff";

/// Relative luminance of `#rrggbb` (WCAG 2.x).
#[cfg(test)]
pub(crate) fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

/// Contrast ratio of two `#rrggbb` colours.
#[cfg(test)]
pub(crate) fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::DeliveryOutcome;
    use crate::graph::NodeKind;

    #[test]
    fn meaningful_colours_keep_aa_contrast_on_white() {
        let mut colours = vec![MUTED, BORDER, EDGE, BACK_EDGE, MISSING];
        colours.extend(DeliveryOutcome::ALL.iter().map(|o| o.colour()));
        colours.extend(
            [
                NodeKind::Message,
                NodeKind::Wait,
                NodeKind::Condition,
                NodeKind::UpdateProfile,
                NodeKind::RemoveFromJourney,
                NodeKind::End,
                NodeKind::Missing,
            ]
            .iter()
            .map(|k| crate::graph::kind_colour(*k)),
        );
        for c in colours {
            let ratio = contrast(c, SURFACE);
            assert!(ratio >= 4.5, "{c} has {ratio:.2}:1 against white");
        }
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
    }
}
