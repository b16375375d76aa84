//! `SessionStore`: a session is found by the hash of its secret until it expires, is signed
//! out, or its API token is revoked; expired sessions are forgotten on request.

use super::support::*;
use crate::{NewToken, NewWebSession, Role, Store, WebSession};

fn session(token_id: Option<&str>, csrf: &str, lifetime_secs: i64) -> WebSession {
    WebSession {
        token_id: token_id.map(str::to_owned),
        env_token_hash: token_id.is_none().then(|| "e".repeat(64)),
        actor: format!("actor of {csrf}"),
        role: if token_id.is_some() {
            Role::Viewer
        } else {
            Role::Admin
        },
        csrf: csrf.to_owned(),
        created_at: now(),
        expires_at: later(lifetime_secs),
    }
}

fn insert(store: &dyn Store, hash: &str, s: &WebSession) {
    store
        .insert_session(&NewWebSession {
            hash: hash.to_owned(),
            session: s.clone(),
        })
        .expect("insert session");
}

fn token(store: &dyn Store, id: &str, hash: &str) {
    store
        .create_token(
            &NewToken {
                id: id.to_owned(),
                name: format!("token {id}"),
                role: Role::Viewer,
                hash: hash.to_owned(),
            },
            now(),
        )
        .expect("create token");
}

/// A stored session comes back exactly, by its hash only, until the instant it expires.
pub fn sessions_round_trip_until_they_expire(store: &dyn Store) {
    token(store, "tok_a", &"a".repeat(64));
    let by_token = session(Some("tok_a"), "csrf-1", 60);
    let by_env = session(None, "csrf-2", 120);
    insert(store, &"1".repeat(64), &by_token);
    insert(store, &"2".repeat(64), &by_env);

    let found = store.session_by_hash(&"1".repeat(64), later(10));
    assert_eq!(found.expect("lookup"), Some(by_token));
    let found = store.session_by_hash(&"2".repeat(64), later(10));
    assert_eq!(found.expect("lookup"), Some(by_env));
    assert_eq!(
        store
            .session_by_hash(&"3".repeat(64), later(10))
            .expect("lookup"),
        None,
        "an unknown hash"
    );
    assert_eq!(
        store.session_by_hash("csrf-1", later(10)).expect("lookup"),
        None,
        "the CSRF token is not the secret"
    );
    assert_eq!(
        store
            .session_by_hash(&"1".repeat(64), later(60))
            .expect("lookup"),
        None,
        "expired at its expiry instant"
    );
    assert!(
        store
            .session_by_hash(&"2".repeat(64), later(60))
            .expect("lookup")
            .is_some(),
        "the other lives on"
    );
}

/// Signing out deletes that session and no other.
pub fn sign_out_deletes_only_that_session(store: &dyn Store) {
    insert(store, &"1".repeat(64), &session(None, "c1", 60));
    insert(store, &"2".repeat(64), &session(None, "c2", 60));
    assert!(store.delete_session(&"1".repeat(64)).expect("delete"));
    assert!(
        !store.delete_session(&"1".repeat(64)).expect("delete"),
        "already gone"
    );
    assert_eq!(
        store
            .session_by_hash(&"1".repeat(64), now())
            .expect("lookup"),
        None
    );
    assert!(
        store
            .session_by_hash(&"2".repeat(64), now())
            .expect("lookup")
            .is_some()
    );
}

/// Revoking a token refuses its secret and ends every session signed in with it, and only
/// those.
pub fn revoking_a_token_ends_its_sessions(store: &dyn Store) {
    token(store, "tok_a", &"a".repeat(64));
    token(store, "tok_b", &"b".repeat(64));
    insert(store, &"1".repeat(64), &session(Some("tok_a"), "c1", 60));
    insert(store, &"2".repeat(64), &session(Some("tok_a"), "c2", 60));
    insert(store, &"3".repeat(64), &session(Some("tok_b"), "c3", 60));
    insert(store, &"4".repeat(64), &session(None, "c4", 60));

    assert!(store.revoke_token("tok_a").expect("revoke"));
    assert!(
        !store.revoke_token("tok_a").expect("revoke"),
        "already gone"
    );
    assert!(
        store
            .token_by_hash(&"a".repeat(64))
            .expect("lookup")
            .is_none()
    );
    assert_eq!(store.token_count().expect("count"), 1);
    for hash in ["1", "2"] {
        assert_eq!(
            store
                .session_by_hash(&hash.repeat(64), now())
                .expect("lookup"),
            None,
            "session {hash} of the revoked token"
        );
    }
    for hash in ["3", "4"] {
        assert!(
            store
                .session_by_hash(&hash.repeat(64), now())
                .expect("lookup")
                .is_some(),
            "session {hash} lives on"
        );
    }
}

/// `delete_expired_sessions` forgets exactly those expired at `now`.
pub fn expired_sessions_are_forgotten(store: &dyn Store) {
    insert(store, &"1".repeat(64), &session(None, "c1", 10));
    insert(store, &"2".repeat(64), &session(None, "c2", 20));
    insert(store, &"3".repeat(64), &session(None, "c3", 30));
    assert_eq!(store.delete_expired_sessions(later(20)).expect("purge"), 2);
    assert_eq!(store.delete_expired_sessions(later(20)).expect("purge"), 0);
    assert!(
        store
            .session_by_hash(&"3".repeat(64), later(20))
            .expect("lookup")
            .is_some()
    );
    assert!(!store.delete_session(&"1".repeat(64)).expect("delete"));
}
