//! `TokenStore` and `SettingsStore`: tokens are found by the hash of their secret and counted;
//! a setting is written, overwritten, and deleted by writing `None`.

use super::support::*;
use crate::{NewToken, Role, Store};

fn token(id: &str, role: Role, hash: &str) -> NewToken {
    NewToken {
        id: id.to_owned(),
        name: format!("token {id}"),
        role,
        hash: hash.to_owned(),
    }
}

/// `create_token` answers the stored token; `token_by_hash` finds it by hash only;
/// `token_count` counts every token.
pub fn tokens_create_lookup_and_count(store: &dyn Store) {
    assert_eq!(store.token_count().expect("count"), 0);
    let hash_a = "a".repeat(64);
    let hash_b = "b".repeat(64);
    let created = store
        .create_token(&token("tok_a", Role::Admin, &hash_a), later(5))
        .expect("create");
    assert_eq!(
        (
            created.id.as_str(),
            created.name.as_str(),
            created.role,
            created.created_at
        ),
        ("tok_a", "token tok_a", Role::Admin, later(5))
    );
    store
        .create_token(&token("tok_b", Role::Viewer, &hash_b), later(6))
        .expect("create");
    assert_eq!(store.token_count().expect("count"), 2);

    let found = store
        .token_by_hash(&hash_b)
        .expect("lookup")
        .expect("found");
    assert_eq!(
        (
            found.id.as_str(),
            found.name.as_str(),
            found.role,
            found.created_at
        ),
        ("tok_b", "token tok_b", Role::Viewer, later(6))
    );
    let a = store
        .token_by_hash(&hash_a)
        .expect("lookup")
        .expect("found");
    assert_eq!((a.id.as_str(), a.role), ("tok_a", Role::Admin));
    assert!(
        store
            .token_by_hash(&"c".repeat(64))
            .expect("lookup")
            .is_none()
    );
    assert!(
        store.token_by_hash("tok_a").expect("lookup").is_none(),
        "ids are not hashes"
    );
}

/// `put_setting` writes and overwrites; `None` deletes (and deleting nothing is fine).
pub fn settings_put_overwrite_and_delete(store: &dyn Store) {
    assert_eq!(store.setting("theme").expect("get"), None);
    store.put_setting("theme", Some("dark")).expect("put");
    store
        .put_setting("operator_webhook", Some("https://ops.example.com/hook"))
        .expect("put");
    assert_eq!(
        store.setting("theme").expect("get").as_deref(),
        Some("dark")
    );
    store.put_setting("theme", Some("light")).expect("put");
    assert_eq!(
        store.setting("theme").expect("get").as_deref(),
        Some("light")
    );
    store.put_setting("theme", None).expect("delete");
    assert_eq!(store.setting("theme").expect("get"), None);
    store
        .put_setting("theme", None)
        .expect("deleting an absent key");
    assert_eq!(
        store.setting("operator_webhook").expect("get").as_deref(),
        Some("https://ops.example.com/hook"),
        "other keys are untouched"
    );
}
