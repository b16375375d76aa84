//! The deliveries chart read back as XML: its accessible name, legend, patterns, axis, the
//! empty state, escaping, and the table rows that repeat its figures.

use super::*;

fn parse(svg: &Svg) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg.as_str()).expect("the SVG is well-formed XML")
}

fn class_count(doc: &roxmltree::Document<'_>, class: &str) -> usize {
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|w| w == class))
        })
        .count()
}

fn texts<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .flat_map(|g| g.descendants().filter(|t| t.has_tag_name("text")))
        .map(|t| {
            t.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect::<String>()
        })
        .collect()
}

fn three_days() -> (Vec<Series>, Vec<&'static str>) {
    (
        vec![
            Series::new(DeliveryOutcome::Delivered, vec![100, 250, 0]),
            Series::new(DeliveryOutcome::Failed, vec![3, 0, 1]),
            Series::new(DeliveryOutcome::Cancelled, vec![0, 0, 40]),
        ],
        vec!["Mon", "Tue", "Wed"],
    )
}

#[test]
fn a_chart_names_itself_and_its_figures() {
    let (series, days) = three_days();
    let svg = deliveries_chart(&series, &days);
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(
        root.attribute("aria-labelledby"),
        Some("sluice-deliveries-title sluice-deliveries-desc")
    );
    let desc = root
        .children()
        .find(|c| c.has_tag_name("desc"))
        .and_then(|d| d.text())
        .unwrap_or_default();
    assert_eq!(
        desc,
        "Stacked bars of 394 actions over 3 time buckets, from Mon to Wed. In all: 350 \
         delivered, 4 failed, 40 cancelled. Busiest: Tue with 250."
    );
    assert_eq!(
        texts(&doc, "legend-item legend-delivered"),
        ["Delivered 350"]
    );
    assert_eq!(class_count(&doc, "legend-item"), 3);
    // One group per bucket, one rect per non-zero count.
    assert_eq!(class_count(&doc, "bucket"), 3);
    assert_eq!(class_count(&doc, "bar"), 5);
    assert_eq!(class_count(&doc, "bar-failed"), 2);
    // Not by colour alone: every outcome but `delivered` has a pattern, used by its bars.
    let patterns: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("pattern"))
        .filter_map(|n| n.attribute("id"))
        .collect();
    assert_eq!(
        patterns,
        ["sluice-deliveries-failed", "sluice-deliveries-cancelled"]
    );
    assert!(
        svg.as_str()
            .contains(r#"fill="url(#sluice-deliveries-failed)""#)
    );
    // Round ticks up to 250.
    assert_eq!(
        texts(&doc, "axis axis-y"),
        ["0", "50", "100", "150", "200", "250"]
    );
    assert_eq!(texts(&doc, "axis axis-x"), ["Mon", "Tue", "Wed"]);
}

#[test]
fn no_deliveries_says_so() {
    for svg in [
        deliveries_chart::<&str>(&[], &[]),
        deliveries_chart(&[], &["Mon", "Tue"]),
        deliveries_chart(
            &[Series::new(DeliveryOutcome::Delivered, vec![0, 0])],
            &["Mon", "Tue"],
        ),
    ] {
        let doc = parse(&svg);
        assert!(svg.as_str().contains(">No deliveries yet</text>"));
        assert!(
            svg.as_str()
                .contains("<desc id=\"sluice-deliveries-desc\">No deliveries yet.</desc>")
        );
        assert_eq!(class_count(&doc, "bar"), 0);
        assert_eq!(doc.root_element().attribute("role"), Some("img"));
    }
}

#[test]
fn labels_are_escaped_and_thinned_to_fit() {
    let labels: Vec<String> = (0..60).map(|i| format!("<b>&{i}")).collect();
    let series = [Series::new(DeliveryOutcome::Skipped, (0..60).collect())];
    let svg = deliveries_chart(&series, &labels);
    assert!(!svg.as_str().contains("<b>"));
    let doc = parse(&svg);
    let shown = texts(&doc, "axis axis-x");
    assert!(shown.len() < 60 && shown.len() >= 5, "{}", shown.len());
    assert_eq!(shown[0], "<b>&0");
    let title = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("bucket"))
        .and_then(|g| g.children().find(|c| c.has_tag_name("title")))
        .and_then(|t| t.text());
    assert_eq!(title, Some("<b>&0: nothing (0 in all)"));
}

#[test]
fn the_table_repeats_the_figures() {
    let (series, days) = three_days();
    let table = deliveries_table(&series, &days);
    assert_eq!(
        table.columns,
        [
            DeliveryOutcome::Delivered,
            DeliveryOutcome::Failed,
            DeliveryOutcome::Cancelled
        ]
    );
    assert_eq!(table.rows[2].bucket, "Wed");
    assert_eq!(table.rows[2].counts, [0, 1, 40]);
    assert_eq!(table.rows[2].total, 41);
    assert_eq!(table.totals, [350, 4, 40]);
    assert_eq!(table.grand_total, 394);
    // Short series count as zero; extra counts past the buckets are ignored.
    let ragged = [Series::new(DeliveryOutcome::Unknown, vec![5, 6, 7, 8])];
    let table = deliveries_table(&ragged, &["a", "b"]);
    assert_eq!(table.totals, [11]);
    let short = [Series::new(DeliveryOutcome::Unknown, vec![5])];
    assert_eq!(deliveries_table(&short, &["a", "b"]).rows[1].counts, [0]);
}

#[test]
fn same_input_same_bytes_and_outcome_names_round_trip() {
    let (series, days) = three_days();
    assert_eq!(
        deliveries_chart(&series, &days),
        deliveries_chart(&series, &days)
    );
    for outcome in DeliveryOutcome::ALL {
        assert_eq!(DeliveryOutcome::parse(outcome.as_str()), Some(outcome));
    }
    assert_eq!(DeliveryOutcome::parse("sent"), None);
}

#[test]
fn small_figures_carry_their_numbers_in_their_name() {
    let bar = counter_bar(
        "Email <main>",
        &[
            (DeliveryOutcome::Delivered, 90),
            (DeliveryOutcome::Failed, 10),
        ],
    );
    let doc = parse(&bar);
    assert_eq!(
        doc.root_element().attribute("aria-label"),
        Some("Email <main>: 90 delivered, 10 failed")
    );
    assert_eq!(class_count(&doc, "bar"), 2);
    parse(&counter_bar("none", &[]));
    let line = sparkline("Sent", &[1, 5, 3]);
    let doc = parse(&line);
    assert_eq!(
        doc.root_element().attribute("aria-label"),
        Some("Sent: from 1 to 3, at most 5")
    );
    assert!(sparkline("Sent", &[]).as_str().contains("no data yet"));
    parse(&sparkline("One", &[4]));
}
