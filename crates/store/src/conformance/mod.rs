//! The conformance suite (DESIGN.md): the behaviour every storage backend must show, one check
//! per function, grouped by trait. Each check gets a fresh, empty store, starts at a fixed
//! `now`, builds domain values through their real constructors and drives lifecycle commands
//! through the real domain methods.
//!
//! A backend runs it from an integration test, one `#[test]` per check:
//!
//! ```ignore
//! sluice_store::conformance_tests!(|| {
//!     let dir = tempfile::tempdir().expect("temp dir");
//!     let store = MyStore::open(dir.path()).expect("open");
//!     sluice_store::conformance::Fixture::new(store).keeping(dir)
//! });
//! ```

pub mod audit;
pub mod campaigns;
pub mod catalog;
pub mod journey_lifecycle;
pub mod journeys;
pub mod profile_bulk;
pub mod profiles;
pub mod results;
pub mod sessions;
pub mod steps;
mod support;
pub mod time;
pub mod tokens;
pub mod work;

use std::any::Any;

use crate::Store;

/// A store under test, and what must outlive it (a temporary directory, a database).
pub struct Fixture {
    // Dropped in declaration order: the store closes before its guard goes.
    store: Box<dyn Store>,
    _guard: Option<Box<dyn Any>>,
}

impl Fixture {
    pub fn new(store: impl Store + 'static) -> Self {
        Self {
            store: Box::new(store),
            _guard: None,
        }
    }

    pub fn boxed(store: Box<dyn Store>) -> Self {
        Self {
            store,
            _guard: None,
        }
    }

    /// Keeps `guard` alive until the store has been dropped.
    #[must_use]
    pub fn keeping(mut self, guard: impl Any) -> Self {
        self._guard = Some(Box::new(guard));
        self
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }
}

/// Makes a fixture (the generated tests call this rather than the closure itself).
pub fn build(new_fixture: impl FnOnce() -> Fixture) -> Fixture {
    new_fixture()
}

/// One check: a name (`group::check`) and the function that runs it against a fresh store.
pub type Check = (&'static str, fn(&dyn Store));

/// Every check, in the order of [`conformance_tests!`](crate::conformance_tests).
pub const CHECKS: &[Check] = crate::__conformance_checks!(__conformance_check_list!());

/// Runs every check, each against a fresh store from `new_fixture`, and panics at the first
/// failure, naming the check. Prefer [`conformance_tests!`](crate::conformance_tests), which
/// reports each check as its own test.
pub fn run_all(new_fixture: &dyn Fn() -> Fixture) {
    for (name, check) in CHECKS {
        let fixture = new_fixture();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(fixture.store());
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("conformance check `{name}` failed: {message}");
        }
    }
}

/// Expands to one `#[test]` per conformance check, in modules named after the checks' groups
/// (`profiles::put_profile_creates_then_replaces`). `$new_fixture` is a closure (or fn) that
/// returns a fresh [`Fixture`](crate::conformance::Fixture) on every call.
#[macro_export]
macro_rules! conformance_tests {
    ($new_fixture:expr $(,)?) => {
        fn __sluice_conformance_fixture() -> $crate::conformance::Fixture {
            $crate::conformance::build($new_fixture)
        }
        $crate::__conformance_checks!(__conformance_test_fns!());
    };
}

/// The list of checks, handed to `$callback` (a macro of this crate): the single place a new
/// check is registered.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($callback:ident ! ()) => {
        $crate::$callback! {
            profiles {
                put_profile_creates_then_replaces,
                put_profile_stores_the_given_times,
                patch_profile_merges_attributes_and_consent,
                delete_profile_erases_profile_and_events,
                delete_profile_cancels_its_pending_work,
                delete_profile_of_the_last_one_inside_finishes_a_closed_version,
                profiles_page_by_cursor_in_id_order,
                profiles_by_id_reads_those_that_exist,
            }
            profile_bulk {
                import_commits_every_batch,
                import_abort_rolls_everything_back,
                import_replaces_attributes_and_keeps_consent,
                record_events_creates_unknown_profiles,
                audience_count_matches_attribute_rules,
                audience_count_respects_event_windows,
            }
            catalog {
                audiences_round_trip_and_update,
                channels_round_trip_and_update,
                templates_round_trip_and_update,
                catalog_lists_page_by_id,
                delete_unused_then_not_found,
                delete_refused_while_a_campaign_version_uses_it,
                delete_refused_while_a_journey_version_uses_it,
            }
            campaigns {
                campaign_round_trips_exactly,
                apply_commits_changes_and_an_audit_entry,
                failed_command_changes_nothing,
                activate_schedules_an_occurrence,
                activating_a_new_version_moves_the_next_occurrence,
                stop_cancels_pending_occurrences,
                abort_returns_a_summary_and_notifies,
                delete_campaign_honours_its_check,
                unknown_campaign_is_not_found,
                campaigns_list_filters_by_status_and_pages,
                enqueue_trigger_is_idempotent_by_key,
            }
            journeys {
                journey_round_trips_exactly,
                events_enroll_into_live_versions,
                one_active_enrollment_per_profile_and_version,
                reentry_never_refuses_a_second_entrance,
                reentry_always_admits_after_leaving,
                reentry_after_waits_for_the_period,
                failed_journey_command_changes_nothing,
                delete_journey_honours_its_check,
                enrollments_page_and_filter_by_state,
            }
            journey_lifecycle {
                remove_from_journey_cancels_and_records,
                close_with_nobody_inside_finishes,
                closed_version_finishes_when_the_last_one_leaves,
                stop_halts_everyone_inside,
                enrollments_stay_pinned_to_their_version,
            }
            results {
                results_count_enrollments_and_actions,
                actions_page_in_order,
                actions_filter_by_outcome_and_profile,
                for_each_action_visits_in_order_and_stops,
                erasure_keeps_the_counts_and_no_trace_of_the_profile,
            }
            audit {
                audit_is_newest_first_and_filtered_by_subject,
                audit_filters_by_journey_version,
                notifications_unread_filter_and_mark_read,
            }
            tokens {
                tokens_create_lookup_and_count,
                settings_put_overwrite_and_delete,
            }
            sessions {
                sessions_round_trip_until_they_expire,
                sign_out_deletes_only_that_session,
                revoking_a_token_ends_its_sessions,
                expired_sessions_are_forgotten,
            }
            work {
                claims_lease_and_settlements_are_fenced,
                renewed_leases_are_not_taken_over,
                abort_counts_open_sends_and_leaves_rows_to_the_sweeper,
                stop_reads_as_halted_before_the_sweep,
                fan_out_plans_a_large_audience_page_by_page,
                stop_between_pages_lets_the_occurrence_finish,
                settlements_after_a_brake_change_nothing,
            }
            steps {
                a_step_claim_is_fenced_across_steps,
                stop_leaves_claimed_steps_to_their_worker,
                erasure_takes_claimed_steps_from_their_worker,
                a_step_with_nothing_to_run_ends_its_enrollment,
            }
            time {
                retries_deferrals_and_leases_of_rows_run_in_real_time,
                retries_deferrals_and_leases_of_steps_run_in_real_time,
                waits_run_in_business_time,
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ($($group:ident { $($check:ident),* $(,)? })*) => {
        $(
            mod $group {
                $(
                    #[test]
                    fn $check() {
                        let fixture = super::__sluice_conformance_fixture();
                        $crate::conformance::$group::$check(fixture.store());
                    }
                )*
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_check_list {
    ($($group:ident { $($check:ident),* $(,)? })*) => {
        &[$($(
            (
                concat!(stringify!($group), "::", stringify!($check)),
                $crate::conformance::$group::$check as fn(&dyn $crate::Store),
            ),
        )*)*]
    };
}
