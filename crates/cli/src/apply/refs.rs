//! By-name references in definitions (`channel: my-hook` → `channel_id`), their validation
//! against the file and the server, and the order that creates every target before its users.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use super::{Doc, Issue, Kind};

/// A place where a definition may name another object instead of giving its id.
struct Slot {
    name_key: &'static str,
    id_key: &'static str,
    target: Kind,
}

const fn slot(name_key: &'static str, id_key: &'static str, target: Kind) -> Slot {
    Slot {
        name_key,
        id_key,
        target,
    }
}

const CAMPAIGN: &[Slot] = &[
    slot("channel", "channel_id", Kind::Channel),
    slot("template", "template_id", Kind::Template),
    slot("audience", "audience_id", Kind::Audience),
];
const JOURNEY_ENTRY: &[Slot] = &[slot("audience", "audience_id", Kind::Audience)];
/// Message nodes name a channel and template; `remove_from_journey` nodes name a journey.
const JOURNEY_NODE: &[Slot] = &[
    slot("channel", "channel_id", Kind::Channel),
    slot("template", "template_id", Kind::Template),
    slot("journey", "journey_id", Kind::Journey),
];

/// A by-name reference found in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub target: Kind,
    pub name: String,
    /// Where in the definition, for messages: `channel`, `entry.audience`, `nodes[welcome].template`.
    pub at: String,
}

/// The objects that can hold slots, each with a label prefix for messages.
fn containers(
    kind: Kind,
    body: &mut Map<String, Value>,
) -> Vec<(String, &mut Map<String, Value>, &'static [Slot])> {
    match kind {
        Kind::Campaign => vec![(String::new(), body, CAMPAIGN)],
        Kind::Journey => {
            let mut out = Vec::new();
            // iter_mut hands out disjoint borrows of `entry` and each node.
            for (key, value) in body.iter_mut() {
                match (key.as_str(), value) {
                    ("entry", Value::Object(entry)) => {
                        out.push(("entry.".to_string(), entry, JOURNEY_ENTRY));
                    }
                    ("nodes", Value::Array(nodes)) => {
                        for (i, node) in nodes.iter_mut().enumerate() {
                            if let Value::Object(node) = node {
                                let label = match node.get("id").and_then(Value::as_str) {
                                    Some(id) => format!("nodes[{id}]."),
                                    None => format!("nodes[{i}]."),
                                };
                                out.push((label, node, JOURNEY_NODE));
                            }
                        }
                    }
                    _ => {}
                }
            }
            out
        }
        Kind::Audience | Kind::Channel | Kind::Template => Vec::new(),
    }
}

/// Problems visible in the definition alone: a name that is not a string, or both forms given.
pub fn check_local(doc: &Doc) -> Vec<Issue> {
    let mut body = doc.body.clone();
    let mut issues = Vec::new();
    for (label, map, slots) in containers(doc.kind, &mut body) {
        for s in slots {
            match map.get(s.name_key) {
                None => {}
                Some(Value::String(n)) if !n.is_empty() && map.contains_key(s.id_key) => {
                    issues.push(Issue::at(
                        doc.index,
                        format!(
                            "give either {label}{} or {label}{}, not both",
                            s.name_key, s.id_key
                        ),
                    ));
                }
                Some(Value::String(n)) if !n.is_empty() => {}
                Some(other) => issues.push(Issue::at(
                    doc.index,
                    format!(
                        "{label}{} must be the name of a {}, got {other}",
                        s.name_key, s.target
                    ),
                )),
            }
        }
    }
    issues
}

/// Every by-name reference of a definition.
pub fn references(doc: &Doc) -> Vec<Ref> {
    let mut body = doc.body.clone();
    let mut out = Vec::new();
    for (label, map, slots) in containers(doc.kind, &mut body) {
        for s in slots {
            if let Some(Value::String(name)) = map.get(s.name_key) {
                out.push(Ref {
                    target: s.target,
                    name: name.clone(),
                    at: format!("{label}{}", s.name_key),
                });
            }
        }
    }
    out
}

/// The body to send: each by-name reference replaced by the id `lookup` gives for it.
pub fn resolve(
    doc: &Doc,
    lookup: impl Fn(Kind, &str) -> Option<String>,
) -> Result<Map<String, Value>, String> {
    let mut body = doc.body.clone();
    for (label, map, slots) in containers(doc.kind, &mut body) {
        for s in slots {
            let Some(Value::String(name)) = map.get(s.name_key) else {
                continue;
            };
            let id = lookup(s.target, name)
                .ok_or_else(|| format!("{label}{}: no {} named {name:?}", s.name_key, s.target))?;
            map.remove(s.name_key);
            map.insert(s.id_key.to_string(), Value::String(id));
        }
    }
    Ok(body)
}

/// What already exists on the server: names to ids, per kind (names need not be unique there).
#[derive(Debug, Default)]
pub struct Catalog {
    names: HashMap<Kind, HashMap<String, Vec<String>>>,
}

impl Catalog {
    pub fn add(&mut self, kind: Kind, name: &str, id: &str) {
        let ids = self
            .names
            .entry(kind)
            .or_default()
            .entry(name.to_string())
            .or_default();
        ids.push(id.to_string());
    }

    pub fn ids(&self, kind: Kind, name: &str) -> &[String] {
        self.names
            .get(&kind)
            .and_then(|m| m.get(name))
            .map_or(&[], Vec::as_slice)
    }

    /// The id of the one object of that kind and name, if exactly one exists.
    pub fn unique(&self, kind: Kind, name: &str) -> Option<&str> {
        match self.ids(kind, name) {
            [id] => Some(id),
            _ => None,
        }
    }
}

/// The kinds whose server-side names the file needs: its own kinds and those it references.
pub fn kinds_needed(docs: &[Doc]) -> BTreeSet<Kind> {
    let mut kinds: BTreeSet<Kind> = docs.iter().map(|d| d.kind).collect();
    kinds.extend(docs.iter().flat_map(references).map(|r| r.target));
    kinds
}

/// Checks identities and references against the file and the server's catalog.
pub fn check_against(docs: &[Doc], catalog: &Catalog) -> Vec<Issue> {
    let mut issues = check_identities(docs, catalog);
    issues.extend(check_references(docs, catalog));
    issues.sort_by_key(|i| i.index);
    issues
}

/// Apply finds objects by name, so a name the server holds twice cannot be applied.
pub fn check_identities(docs: &[Doc], catalog: &Catalog) -> Vec<Issue> {
    let mut issues = Vec::new();
    for doc in docs {
        let n = catalog.ids(doc.kind, &doc.name).len();
        if n > 1 {
            issues.push(Issue::at(
                doc.index,
                format!(
                    "{n} {}s named {:?} exist on the server; apply needs names to be unique",
                    doc.kind, doc.name
                ),
            ));
        }
    }
    issues
}

/// Every by-name reference must name exactly one object, in the file or on the server.
pub fn check_references(docs: &[Doc], catalog: &Catalog) -> Vec<Issue> {
    let in_file: HashSet<(Kind, &str)> = docs.iter().map(|d| (d.kind, d.name.as_str())).collect();
    let mut issues = Vec::new();
    for doc in docs {
        for r in references(doc) {
            if in_file.contains(&(r.target, r.name.as_str())) {
                continue;
            }
            match catalog.ids(r.target, &r.name).len() {
                1 => {}
                0 => issues.push(Issue::at(
                    doc.index,
                    format!(
                        "{}: no {} named {:?} in this file or on the server",
                        r.at, r.target, r.name
                    ),
                )),
                n => issues.push(Issue::at(
                    doc.index,
                    format!(
                        "{}: {n} {}s are named {:?}; give {}_id instead",
                        r.at, r.target, r.name, r.target
                    ),
                )),
            }
        }
    }
    issues
}

/// Indices into `docs` in apply order: by stage, file order within a stage, except that a
/// journey named by another journey and not yet on the server is created first.
pub fn order(docs: &[Doc], catalog: &Catalog) -> Result<Vec<usize>, Vec<Issue>> {
    let mut by_stage: Vec<usize> = (0..docs.len()).collect();
    by_stage.sort_by_key(|&i| docs[i].kind.stage());
    let (mut ordered, journeys): (Vec<usize>, Vec<usize>) = by_stage
        .into_iter()
        .partition(|&i| docs[i].kind != Kind::Journey);

    let position: HashMap<&str, usize> = journeys
        .iter()
        .map(|&i| (docs[i].name.as_str(), i))
        .collect();
    // deps[i]: journeys of this file that i names and that must be created before it.
    let deps: HashMap<usize, BTreeSet<usize>> = journeys
        .iter()
        .map(|&i| {
            let d = references(&docs[i])
                .into_iter()
                .filter(|r| {
                    r.target == Kind::Journey && catalog.ids(Kind::Journey, &r.name).is_empty()
                })
                .filter_map(|r| position.get(r.name.as_str()).copied())
                .collect();
            (i, d)
        })
        .collect();
    let mut done = HashSet::new();
    let mut pending = journeys;
    // Repeatedly take, in file order, every journey whose dependencies are done (Kahn's
    // algorithm; the file is small, so the quadratic walk does not matter).
    while !pending.is_empty() {
        let ready: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|i| deps[i].iter().all(|d| done.contains(d)))
            .collect();
        if ready.is_empty() {
            return Err(pending
                .iter()
                .map(|&i| {
                    Issue::at(
                        docs[i].index,
                        format!(
                            "journey {:?} names a journey of this file that cannot be created before it (a cycle); use journey_id for one of them",
                            docs[i].name
                        ),
                    )
                })
                .collect());
        }
        pending.retain(|i| !ready.contains(i));
        done.extend(ready.iter().copied());
        ordered.extend(ready);
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::parse::parse;

    const FILE: &str = r#"
kind: journey
name: onboarding
entry: {type: audience, audience: vips, schedule: {type: immediate}}
start: hello
nodes:
  - {id: hello, type: message, channel: hook, template: welcome, next: rm}
  - {id: rm, type: remove_from_journey, journey: winback}
---
kind: campaign
name: spring
channel: hook
template_id: tpl_1
audience: vips
schedule: {type: immediate}
---
kind: journey
name: winback
entry: {type: event, event: lapsed}
start: end
nodes: [{id: end, type: end}]
---
kind: audience
name: vips
rule: {attr: plan, op: eq, value: vip}
"#;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.add(Kind::Channel, "hook", "ch_1");
        c.add(Kind::Template, "welcome", "tpl_1");
        c
    }

    #[test]
    fn references_are_found_with_their_place() {
        let docs = parse(FILE).unwrap();
        let refs = references(&docs[0]);
        let at: Vec<_> = refs
            .iter()
            .map(|r| (r.at.as_str(), r.target, r.name.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("entry.audience", Kind::Audience, "vips"),
                ("nodes[hello].channel", Kind::Channel, "hook"),
                ("nodes[hello].template", Kind::Template, "welcome"),
                ("nodes[rm].journey", Kind::Journey, "winback"),
            ]
        );
        assert_eq!(
            references(&docs[1]).len(),
            2,
            "template_id is already an id"
        );
    }

    #[test]
    fn names_resolve_to_ids() {
        let docs = parse(FILE).unwrap();
        let body = resolve(&docs[1], |k, n| Some(format!("{k}:{n}"))).unwrap();
        assert_eq!(body["channel_id"], "channel:hook");
        assert_eq!(body["audience_id"], "audience:vips");
        assert_eq!(body["template_id"], "tpl_1");
        assert!(!body.contains_key("channel") && !body.contains_key("audience"));
        let body = resolve(&docs[0], |k, n| Some(format!("{k}:{n}"))).unwrap();
        assert_eq!(body["entry"]["audience_id"], "audience:vips");
        assert_eq!(body["nodes"][0]["channel_id"], "channel:hook");
        assert_eq!(body["nodes"][1]["journey_id"], "journey:winback");
        assert!(resolve(&docs[1], |_, _| None).is_err());
    }

    #[test]
    fn dependency_order() {
        let docs = parse(FILE).unwrap();
        let order = order(&docs, &catalog()).unwrap();
        let names: Vec<_> = order.iter().map(|&i| docs[i].name.as_str()).collect();
        assert_eq!(names, ["vips", "spring", "winback", "onboarding"]);
    }

    #[test]
    fn existing_journeys_need_no_ordering_and_cycles_of_new_ones_are_refused() {
        let text = "kind: journey\nname: a\nstart: x\nnodes: [{id: x, type: remove_from_journey, journey: a}]\n";
        let docs = parse(text).unwrap();
        let err = order(&docs, &Catalog::default()).unwrap_err();
        assert!(err[0].message.contains("cycle"), "{err:?}");
        let mut c = Catalog::default();
        c.add(Kind::Journey, "a", "j_1");
        assert_eq!(order(&docs, &c).unwrap(), [0]);
    }

    #[test]
    fn unresolvable_and_ambiguous_names() {
        let docs = parse(FILE).unwrap();
        assert!(check_against(&docs, &catalog()).is_empty());
        let mut c = Catalog::default();
        c.add(Kind::Channel, "hook", "ch_1");
        c.add(Kind::Channel, "hook", "ch_2");
        c.add(Kind::Audience, "vips", "a_1");
        c.add(Kind::Audience, "vips", "a_2");
        let issues: Vec<String> = check_against(&docs, &c)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            issues,
            [
                "document 1: nodes[hello].channel: 2 channels are named \"hook\"; give channel_id instead",
                "document 1: nodes[hello].template: no template named \"welcome\" in this file or on the server",
                "document 2: channel: 2 channels are named \"hook\"; give channel_id instead",
                "document 4: 2 audiences named \"vips\" exist on the server; apply needs names to be unique",
            ]
        );
    }

    #[test]
    fn the_shipped_tour_is_self_contained() {
        let docs = parse(include_str!("../../examples/tour.yaml")).unwrap();
        assert_eq!(docs.len(), 8);
        let empty = Catalog::default();
        assert!(
            check_against(&docs, &empty).is_empty(),
            "every name is defined in the file"
        );
        let order = order(&docs, &empty).unwrap();
        let stages: Vec<u8> = order.iter().map(|&i| docs[i].kind.stage()).collect();
        assert!(stages.is_sorted(), "{stages:?}");
    }

    #[test]
    fn both_forms_or_wrong_types_are_local_errors() {
        let m: Vec<String> =
            parse("kind: campaign\nname: c\nchannel: a\nchannel_id: b\ntemplate: 3\n")
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(
            m,
            [
                "document 1: give either channel or channel_id, not both",
                "document 1: template must be the name of a template, got 3",
            ]
        );
    }
}
