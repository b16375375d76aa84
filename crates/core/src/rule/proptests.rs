//! Properties of rules: serialization round-trips and negations that mean what they say.

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::*;

fn now() -> Timestamp {
    "2026-01-31T00:00:00Z".parse().unwrap()
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::from),
        prop_oneof![Just(0.5), Just(-2.25), Just(3.0)].prop_map(Value::from),
        "[a-c]{0,3}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
}

fn arb_attr_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => arb_value(),
        1 => Just(Value::Null),
        1 => prop::collection::vec(arb_value(), 0..3).prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop::collection::btree_map("[a-c]", inner, 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    })
}

fn arb_attributes() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-c]", arb_attr_value(), 0..4)
        .prop_map(|m| m.into_iter().collect())
}

fn arb_leaf() -> impl Strategy<Value = Rule> {
    let path = prop::collection::vec("[a-c]", 1..3).prop_map(|keys| keys.join("."));
    let attr = (
        path,
        prop::sample::select(AttrOp::ALL.to_vec()),
        arb_value(),
    )
        .prop_flat_map(|(path, op, v)| {
            let value: BoxedStrategy<Option<Value>> = match op {
                AttrOp::Exists | AttrOp::NotExists => Just(None).boxed(),
                AttrOp::In | AttrOp::NotIn => prop::collection::vec(arb_value(), 0..3)
                    .prop_map(|v| Some(v.into()))
                    .boxed(),
                AttrOp::Lt | AttrOp::Lte | AttrOp::Gt | AttrOp::Gte
                    if !v.is_number() && !v.is_string() =>
                {
                    Just(Some(Value::from(1))).boxed()
                }
                AttrOp::StartsWith => "[a-c]{0,2}".prop_map(|s| Some(s.into())).boxed(),
                _ => Just(Some(v)).boxed(),
            };
            value.prop_map(move |value| {
                Rule::Attr(AttrRule {
                    path: path.clone(),
                    op,
                    value,
                })
            })
        });
    let within = prop::option::of(prop::sample::select(vec![
        "P30D",
        "PT12H",
        "P1M",
        "P1Y2M3DT4H",
    ]));
    let event = (
        "[a-c]{1,3}",
        prop::sample::select(EventOp::ALL.to_vec()),
        0u64..5,
        within,
    )
        .prop_map(|(name, op, count, within)| {
            let within = within.map(|w| IsoDuration::parse(w).unwrap());
            Rule::Event(EventRule {
                name,
                op,
                count,
                within,
            })
        });
    prop_oneof![3 => attr, 1 => event]
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    arb_leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Rule::All),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Rule::Any),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

struct FixedCounts;

impl EventCounts for FixedCounts {
    fn count(&self, name: &str, since: Option<Timestamp>) -> u64 {
        name.len() as u64 + u64::from(since.is_none())
    }
}

proptest! {
    #[test]
    fn serialize_then_parse_round_trips(r in arb_rule()) {
        let v = serde_json::to_value(&r).unwrap();
        prop_assert_eq!(Rule::parse(&v), Ok(r.clone()));
        let text = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<Rule>(&text).unwrap(), r);
    }

    #[test]
    fn double_negation_changes_nothing(r in arb_rule(), attributes in arb_attributes()) {
        let view = ProfileView { attributes: &attributes, events: &FixedCounts, now: now() };
        let nn = Rule::Not(Box::new(Rule::Not(Box::new(r.clone()))));
        prop_assert_eq!(nn.matches(&view), r.matches(&view));
    }

    #[test]
    fn negated_operators_are_complements(
        path in "[a-c](\\.[a-c])?",
        v in arb_value(),
        items in prop::collection::vec(arb_value(), 0..3),
        attributes in arb_attributes(),
    ) {
        let m = |op, value| AttrRule { path: path.clone(), op, value }.matches(&attributes);
        prop_assert_eq!(m(AttrOp::Ne, Some(v.clone())), !m(AttrOp::Eq, Some(v.clone())));
        prop_assert_eq!(m(AttrOp::NotIn, Some(items.clone().into())), !m(AttrOp::In, Some(items.into())));
        prop_assert_eq!(m(AttrOp::NotExists, None), !m(AttrOp::Exists, None));
        if v.is_number() || v.is_string() {
            // Where two values are comparable, exactly one of lt/gte holds.
            let lt = m(AttrOp::Lt, Some(v.clone()));
            let gte = m(AttrOp::Gte, Some(v));
            prop_assert!(!(lt && gte));
        }
    }
}
