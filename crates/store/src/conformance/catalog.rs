//! `CatalogStore`: audiences, channels and templates round-trip, update, page by id, and refuse
//! deletion while a non-draft campaign or journey version uses them.

use serde::Serialize;
use serde_json::{Value, json};
use sluice_core::channel::ChannelType;

use super::support::*;
use crate::{Audience, Channel, DeleteOutcome, Store, Template};

fn same<T: Serialize>(a: &T, b: &T) -> bool {
    to_json(a) == to_json(b)
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("records serialize")
}

fn audience(id: &str, name: &str) -> Audience {
    Audience {
        id: id.to_owned(),
        name: name.to_owned(),
        rule: rule(json!({"all": [{"attr": "plan", "op": "eq", "value": "pro"},
                                  {"event": "purchase", "op": "count_gte", "value": 2,
                                   "within": "P30D"}]})),
        created_at: now(),
        updated_at: now(),
    }
}

fn channel(id: &str, name: &str) -> Channel {
    Channel {
        id: id.to_owned(),
        name: name.to_owned(),
        channel_type: ChannelType::Email,
        config: json!({"host": "smtp.example.com", "port": 587, "tls": "starttls",
                       "username": "news", "password": "s3cr3t", "from": "news@example.com"}),
        rate_limit_per_second: Some(25),
        created_at: now(),
        updated_at: now(),
    }
}

fn template(id: &str, name: &str) -> Template {
    Template {
        id: id.to_owned(),
        name: name.to_owned(),
        channel_type: ChannelType::Email,
        subject: Some("Hello {{ profile.first_name | default: \"there\" }}".to_owned()),
        body: "<p>Welcome, {{ profile.first_name }}!</p>\n".to_owned(),
        created_at: now(),
        updated_at: now(),
    }
}

/// Inserts `aud_a`, `ch_a` and `tpl_a`, the ones the support fixtures reference.
fn insert_referenced(store: &dyn Store) {
    store
        .insert_audience(&audience("aud_a", "Pros"))
        .expect("insert");
    store
        .insert_channel(&channel("ch_a", "Mail"))
        .expect("insert");
    store
        .insert_template(&template("tpl_a", "Welcome"))
        .expect("insert");
}

/// Audiences: get returns what was inserted; update replaces name, rule and `updated_at`
/// (`false` for an unknown id); unknown ids read as `None`.
pub fn audiences_round_trip_and_update(store: &dyn Store) {
    let a = audience("aud_1", "Pros");
    store.insert_audience(&a).expect("insert");
    let got = store.audience("aud_1").expect("get").expect("inserted");
    assert!(same(&got, &a), "{:?} != {:?}", got, a);

    let mut b = a;
    b.name = "Trial users".into();
    b.rule = rule(json!({"attr": "plan", "op": "eq", "value": "trial"}));
    b.updated_at = later(60);
    assert!(store.update_audience(&b).expect("update"));
    let got = store.audience("aud_1").expect("get").expect("still there");
    assert!(same(&got, &b), "{:?} != {:?}", got, b);
    assert_eq!(got.created_at, now());

    assert!(
        !store
            .update_audience(&audience("aud_x", "X"))
            .expect("update")
    );
    assert!(
        store.audience("aud_x").expect("get").is_none(),
        "update creates nothing"
    );
}

/// Channels: config (secrets included) and rate limit round-trip; update replaces them.
pub fn channels_round_trip_and_update(store: &dyn Store) {
    let c = channel("ch_1", "Mail");
    store.insert_channel(&c).expect("insert");
    let got = store.channel("ch_1").expect("get").expect("inserted");
    assert!(same(&got, &c), "{:?} != {:?}", got, c);

    let mut d = c;
    d.name = "Renamed".into();
    d.config = json!({"host": "mail.example.org", "port": 465, "tls": "tls",
                      "from": "hello@example.org"});
    d.rate_limit_per_second = None;
    d.updated_at = later(60);
    assert!(store.update_channel(&d).expect("update"));
    let got = store.channel("ch_1").expect("get").expect("still there");
    assert!(same(&got, &d), "{:?} != {:?}", got, d);

    assert!(!store.update_channel(&channel("ch_x", "X")).expect("update"));
    assert!(store.channel("ch_x").expect("get").is_none());
}

/// Templates: subject and body round-trip exactly; update replaces them.
pub fn templates_round_trip_and_update(store: &dyn Store) {
    let t = template("tpl_1", "Welcome");
    store.insert_template(&t).expect("insert");
    let got = store.template("tpl_1").expect("get").expect("inserted");
    assert!(same(&got, &t), "{:?} != {:?}", got, t);

    let mut u = t;
    u.subject = None;
    u.body = "plain {{ profile.id }}".into();
    u.name = "Plain".into();
    u.updated_at = later(60);
    assert!(store.update_template(&u).expect("update"));
    let got = store.template("tpl_1").expect("get").expect("still there");
    assert!(same(&got, &u), "{:?} != {:?}", got, u);

    assert!(
        !store
            .update_template(&template("tpl_x", "X"))
            .expect("update")
    );
    assert!(store.template("tpl_x").expect("get").is_none());
}

/// Each catalog listing pages by cursor: every item exactly once, in id order.
pub fn catalog_lists_page_by_id(store: &dyn Store) {
    let ids = ["k3", "k1", "k5", "k2", "k4"];
    for id in ids {
        store
            .insert_audience(&audience(&format!("aud_{id}"), id))
            .expect("insert");
        store
            .insert_channel(&channel(&format!("ch_{id}"), id))
            .expect("insert");
        store
            .insert_template(&template(&format!("tpl_{id}"), id))
            .expect("insert");
    }
    let expect =
        |prefix: &str| -> Vec<String> { (1..=5).map(|i| format!("{prefix}_k{i}")).collect() };
    let audiences = pages(2, |p| store.audiences(p).expect("audiences"));
    assert_eq!(audiences.len(), 3);
    let ids: Vec<String> = audiences.into_iter().flatten().map(|a| a.id).collect();
    assert_eq!(ids, expect("aud"));
    let channels = pages(2, |p| store.channels(p).expect("channels"));
    let ids: Vec<String> = channels.into_iter().flatten().map(|c| c.id).collect();
    assert_eq!(ids, expect("ch"));
    let templates = pages(2, |p| store.templates(p).expect("templates"));
    let ids: Vec<String> = templates.into_iter().flatten().map(|t| t.id).collect();
    assert_eq!(ids, expect("tpl"));
}

/// Deleting something nobody uses answers `Deleted` (and it is gone); an unknown id, or the
/// same id again, answers `NotFound`.
pub fn delete_unused_then_not_found(store: &dyn Store) {
    insert_referenced(store);
    assert_eq!(
        store.delete_audience("aud_a").expect("delete"),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        store.delete_channel("ch_a").expect("delete"),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        store.delete_template("tpl_a").expect("delete"),
        DeleteOutcome::Deleted
    );
    assert!(store.audience("aud_a").expect("get").is_none());
    assert!(store.channel("ch_a").expect("get").is_none());
    assert!(store.template("tpl_a").expect("get").is_none());
    assert_eq!(
        store.delete_audience("aud_a").expect("delete"),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        store.delete_channel("ch_a").expect("delete"),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        store.delete_template("tpl_a").expect("delete"),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        store.delete_template("tpl_never").expect("delete"),
        DeleteOutcome::NotFound
    );
}

fn assert_in_use(outcome: &DeleteOutcome, user: &str) {
    match outcome {
        DeleteOutcome::InUse(who) => {
            assert!(who.contains(user), "InUse({who:?}) should name {user}");
        }
        other => panic!("expected InUse naming {user}, got {other:?}"),
    }
}

/// A draft campaign does not hold what it references; an activated one does (InUse naming the
/// campaign), and still does after it ended.
pub fn delete_refused_while_a_campaign_version_uses_it(store: &dyn Store) {
    insert_referenced(store);
    store
        .insert_audience(&audience("aud_b", "Other"))
        .expect("insert");
    let draft = sluice_core::campaign::Campaign::new_draft(
        "cmp_draft".into(),
        "Draft".into(),
        content("ch_a", "tpl_a", Some("aud_b"), daily()),
        ChannelType::Email,
        now(),
    );
    store
        .insert_campaign(&draft, crate::Origin::Created, &ctx("ann"))
        .expect("insert");

    insert_campaign(store, "cmp_live", daily());
    activate(store, "cmp_live", &ctx("ann"));
    assert_in_use(&store.delete_audience("aud_a").expect("delete"), "cmp_live");
    assert_in_use(&store.delete_channel("ch_a").expect("delete"), "cmp_live");
    assert_in_use(&store.delete_template("tpl_a").expect("delete"), "cmp_live");
    assert!(
        store.audience("aud_a").expect("get").is_some(),
        "refused deletes keep it"
    );
    assert!(store.channel("ch_a").expect("get").is_some());
    assert!(store.template("tpl_a").expect("get").is_some());

    store
        .apply_campaign("cmp_live", &ctx("ann"), &mut |c| Ok(c.abort(now())?))
        .expect("abort");
    assert_in_use(&store.delete_channel("ch_a").expect("delete"), "cmp_live");
    assert_eq!(
        store.delete_audience("aud_b").expect("delete"),
        DeleteOutcome::Deleted
    );
}

/// A published journey version holds the channels and templates of its message nodes and its
/// entry audience (InUse naming the journey); a draft holds nothing.
pub fn delete_refused_while_a_journey_version_uses_it(store: &dyn Store) {
    insert_referenced(store);
    store
        .insert_audience(&audience("aud_j", "Entry"))
        .expect("insert");
    live_journey(store, "jrn_live", json!({"mode": "never"}));
    assert_in_use(&store.delete_channel("ch_a").expect("delete"), "jrn_live");
    assert_in_use(&store.delete_template("tpl_a").expect("delete"), "jrn_live");

    let mut by_audience = to_json(&definition(json!({"mode": "never"})));
    by_audience["entry"] = json!({"type": "audience", "audience_id": "aud_j",
                                  "schedule": {"type": "immediate"}});
    let by_audience = serde_json::from_value(by_audience).expect("a valid definition");
    insert_journey(store, "jrn_aud", by_audience);
    store
        .insert_channel(&channel("ch_d", "Draft only"))
        .expect("insert");
    let mut draft_only = to_json(&definition(json!({"mode": "never"})));
    draft_only["nodes"][0]["channel_id"] = json!("ch_d");
    insert_journey(
        store,
        "jrn_draft",
        serde_json::from_value(draft_only).expect("a valid definition"),
    );
    publish(store, "jrn_aud", 1, &ctx("ann"));
    assert_in_use(&store.delete_audience("aud_j").expect("delete"), "jrn_aud");
    assert!(store.audience("aud_j").expect("get").is_some());
    assert_eq!(
        store.delete_channel("ch_d").expect("delete"),
        DeleteOutcome::Deleted
    );
}
