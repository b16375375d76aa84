//! Random action sequences never leave a campaign inconsistent.

use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
// ----- property test -----

#[derive(Debug, Clone)]
enum Op {
    Activate,
    Modify,
    EditDraft(Kind, u8),
    Stop,
    Abort,
    Pause,
    Resume,
    Complete,
}

fn kind() -> impl Strategy<Value = Kind> {
    proptest::sample::select(KINDS.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Activate),
        Just(Op::Modify),
        (kind(), any::<u8>()).prop_map(|(k, n)| Op::EditDraft(k, n)),
        Just(Op::Stop),
        Just(Op::Abort),
        Just(Op::Pause),
        Just(Op::Resume),
        Just(Op::Complete),
    ]
}

/// Applies `op`; `true` when it was allowed.
fn apply(c: &mut Campaign, op: &Op, at: Timestamp) -> bool {
    match op {
        Op::Activate => c.activate(at).is_ok(),
        Op::Modify => c.modify(at).is_ok(),
        Op::EditDraft(k, n) => c
            .edit_draft(content(*k, &format!("tpl_{n}")), channel(*k), at)
            .is_ok(),
        Op::Stop => c.stop(at).is_ok(),
        Op::Abort => c.abort(at).is_ok(),
        Op::Pause => c.pause(at).is_ok(),
        Op::Resume => c.resume(at).is_ok(),
        Op::Complete => c.complete(at),
    }
}

proptest! {
    #[test]
    fn random_command_sequences_keep_the_campaign_invariants(
        start in kind(),
        ops in proptest::collection::vec(op(), 0..=30),
    ) {
        let mut c = new(start);
        let mut ever_live: HashSet<u32> = HashSet::new();
        for (i, op) in ops.iter().enumerate() {
            let before = c.clone();
            let allowed = apply(&mut c, op, later(i as i64 + 1));
            if !allowed {
                prop_assert_eq!(&c, &before, "refused {:?} changed the campaign", op);
            }
            let count = |s: V| c.versions.iter().filter(|v| v.state == s).count();
            prop_assert!(count(V::Live) <= 1);
            prop_assert!(count(V::Draft) <= 1);
            let numbers: Vec<u32> = c.versions.iter().map(|v| v.version).collect();
            prop_assert_eq!(numbers, (1..=c.versions.len() as u32).collect::<Vec<_>>());
            if before.status.is_final() {
                prop_assert_eq!(c.status, before.status, "a final status changed");
                prop_assert!(c.live_version().is_none());
            }
            for v in &c.versions {
                if ever_live.contains(&v.version) {
                    prop_assert_ne!(v.state, V::Draft, "v{} was live, now draft", v.version);
                }
                if v.state == V::Live {
                    ever_live.insert(v.version);
                }
            }
            let active = matches!(c.status, S::Scheduled | S::Live | S::Paused);
            prop_assert_eq!(c.live_version().is_some(), active, "status {}", c.status);
        }
    }
}
