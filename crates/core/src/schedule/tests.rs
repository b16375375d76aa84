//! Schedule tests: JSON shape, validation, and cron across DST changes.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn recurring(cron: &str, timezone: &str) -> Schedule {
    Schedule::Recurring {
        cron: cron.into(),
        timezone: timezone.into(),
        start: None,
        end: None,
    }
}

/// The next `n` fire times strictly after `from`.
fn fires(schedule: &Schedule, from: &str, n: usize) -> Vec<String> {
    let mut at = ts(from);
    let mut out = Vec::new();
    for _ in 0..n {
        match schedule.next_after(at) {
            Some(next) => {
                out.push(next.to_string());
                at = next;
            }
            None => break,
        }
    }
    out
}

fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors.0.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn json_shapes_round_trip() {
    let cases = [
        json!({"type": "immediate"}),
        json!({"type": "once", "at": "2026-05-01T09:00:00Z"}),
        json!({"type": "recurring", "cron": "0 9 * * MON-FRI", "timezone": "Europe/Berlin"}),
        json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "UTC",
               "start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}),
        json!({"type": "api"}),
    ];
    for case in cases {
        let schedule: Schedule = serde_json::from_value(case.clone()).expect("valid shape");
        assert_eq!(serde_json::to_value(&schedule).expect("serializes"), case);
    }
    let once: Schedule =
        serde_json::from_value(json!({"type": "once", "at": "2026-05-01T11:00:00+02:00"}))
            .expect("offsets are accepted on input");
    assert_eq!(
        serde_json::to_value(once).expect("serializes")["at"],
        "2026-05-01T09:00:00Z"
    );
}

#[test]
fn json_refuses_unknown_fields_and_types() {
    for bad in [
        json!({"type": "weekly"}),
        json!({"type": "once", "at": "2026-05-01T09:00:00Z", "tz": "UTC"}),
        json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "UTC", "every": 2}),
        json!({"type": "immediate", "at": "2026-05-01T09:00:00Z"}),
        json!({"type": "once", "at": "tomorrow"}),
        json!({"cron": "0 9 * * *"}),
    ] {
        assert!(
            serde_json::from_value::<Schedule>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn kinds() {
    assert_eq!(Schedule::Immediate.kind(), "immediate");
    assert_eq!(Schedule::Api.kind(), "api");
    assert_eq!(
        Schedule::Once {
            at: ts("2026-01-01T00:00:00Z")
        }
        .kind(),
        "once"
    );
    assert!(recurring("0 9 * * *", "UTC").is_recurring());
    assert!(!Schedule::Immediate.is_recurring());
}

#[test]
fn validation_names_the_field() {
    let now = ts("2026-06-01T00:00:00Z");
    assert!(Schedule::Immediate.validate(now).is_ok());
    assert!(Schedule::Api.validate(now).is_ok());
    assert!(Schedule::Once { at: now }.validate(now).is_ok());
    let past = Schedule::Once {
        at: ts("2026-05-31T23:59:59Z"),
    }
    .validate(now);
    assert_eq!(fields(&past.expect_err("past")), ["at"]);

    let err = recurring("0 9 * *", "Mars/Olympus")
        .validate(now)
        .expect_err("both bad");
    assert_eq!(fields(&err), ["cron", "timezone"]);

    let window = |start: &str, end: &str| Schedule::Recurring {
        cron: "0 9 * * *".into(),
        timezone: "Europe/Berlin".into(),
        start: Some(ts(start)),
        end: Some(ts(end)),
    };
    let err = window("2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z").validate(now);
    assert_eq!(fields(&err.expect_err("start == end")), ["end"]);
    let err = window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z").validate(now);
    assert_eq!(fields(&err.expect_err("end in the past")), ["end"]);
    assert!(
        window("2026-01-01T00:00:00Z", "2026-06-02T00:00:00Z")
            .validate(now)
            .is_ok()
    );
    // 09:00 Berlin is 07:00Z in summer: a window that closes at 06:59Z never sees it.
    let err = window("2026-06-01T12:00:00Z", "2026-06-02T06:59:00Z").validate(now);
    let err = err.expect_err("no fire inside the window");
    assert_eq!(fields(&err), ["cron"]);
    assert!(err.0[0].message.contains("never fires"), "{err}");
}

#[test]
fn cron_syntax() {
    let now = ts("2026-06-01T00:00:00Z");
    for good in [
        "0 9 * * MON-FRI",
        "*/15 * * * *",
        "0 8-18/2 * * 1-5",
        "0 0 1,15 * *",
        "30 6 * JAN,JUL *",
        "0 12 * * sun",
        "0 0 L * *",
        "0 9 * * 1#1",
        "@daily",
        "@hourly",
        "0 0 29 2 *",
        "  0 9 * * *  ",
    ] {
        assert!(recurring(good, "UTC").validate(now).is_ok(), "{good}");
    }
    for bad in [
        "",
        "0 9 * *",
        "0 0 9 * * *",
        "0 0 9 * * * 2026",
        "60 * * * *",
        "0 24 * * *",
        "0 9 * MON *",
        "0 9 * * JAN",
        "0 9 32 * *",
        "0 9 * 13 *",
        "x 9 * * *",
        "@reboot",
        "0 0 30 2 *",
    ] {
        let err = recurring(bad, "UTC").validate(now).expect_err(bad);
        assert_eq!(fields(&err), ["cron"], "{bad}: {err}");
    }
    let err = recurring("0 0 9 * * *", "UTC")
        .validate(now)
        .expect_err("seconds");
    assert!(
        err.0[0].message.contains("seconds field is not supported"),
        "{err}"
    );
}

#[test]
fn first_run_and_next_after_by_kind() {
    let now = ts("2026-06-01T10:00:00Z");
    assert_eq!(Schedule::Immediate.first_run(now), Some(now));
    assert_eq!(Schedule::Api.first_run(now), None);
    let at = ts("2026-06-02T09:00:00Z");
    assert_eq!(Schedule::Once { at }.first_run(now), Some(at));
    assert_eq!(Schedule::Once { at }.next_after(at), None);
    assert_eq!(Schedule::Immediate.next_after(now), None);

    let hourly = recurring("0 * * * *", "UTC");
    // first_run is inclusive: a fire time equal to `now` is the first run.
    assert_eq!(hourly.first_run(now), Some(now));
    assert_eq!(
        hourly.first_run(ts("2026-06-01T10:00:00.5Z")),
        Some(ts("2026-06-01T11:00:00Z"))
    );
    // next_after is exclusive.
    assert_eq!(hourly.next_after(now), Some(ts("2026-06-01T11:00:00Z")));
}

#[test]
fn start_and_end_bound_the_fires() {
    let schedule = Schedule::Recurring {
        cron: "0 9 * * *".into(),
        timezone: "UTC".into(),
        start: Some(ts("2026-06-10T09:00:00Z")),
        end: Some(ts("2026-06-12T09:00:00Z")),
    };
    let now = ts("2026-06-01T00:00:00Z");
    assert_eq!(schedule.first_run(now), Some(ts("2026-06-10T09:00:00Z")));
    assert_eq!(schedule.next_after(now), Some(ts("2026-06-10T09:00:00Z")));
    assert_eq!(
        fires(&schedule, "2026-06-01T00:00:00Z", 5),
        [
            "2026-06-10T09:00:00Z",
            "2026-06-11T09:00:00Z",
            "2026-06-12T09:00:00Z"
        ]
    );
    assert_eq!(schedule.first_run(ts("2026-06-12T09:00:01Z")), None);
}

#[test]
fn berlin_spring_forward_runs_once_after_the_gap() {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    let schedule = recurring("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        fires(&schedule, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
}

#[test]
fn berlin_fall_back_runs_once() {
    // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30Z and 01:30Z.
    let schedule = recurring("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        fires(&schedule, "2026-10-23T12:00:00Z", 3),
        [
            "2026-10-24T00:30:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:30:00Z"
        ]
    );
    // Asking from inside the repeated hour does not produce the second 02:30.
    assert_eq!(
        schedule.next_after(ts("2026-10-25T01:10:00Z")),
        Some(ts("2026-10-26T01:30:00Z"))
    );
}

#[test]
fn interval_patterns_follow_real_time_across_dst() {
    let schedule = recurring("*/30 * * * *", "Europe/Berlin");
    assert_eq!(
        fires(&schedule, "2026-10-25T00:00:00Z", 4),
        [
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:30:00Z",
            "2026-10-25T02:00:00Z"
        ]
    );
    let hourly = recurring("0 * * * *", "Europe/Berlin");
    assert_eq!(
        fires(&hourly, "2026-03-28T23:30:00Z", 3),
        [
            "2026-03-29T00:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z"
        ]
    );
}

#[test]
fn new_york_weekdays_across_both_dst_changes() {
    let schedule = recurring("0 9 * * MON-FRI", "America/New_York");
    // Fall back on Sunday 2026-11-01: EDT (13:00Z) before, EST (14:00Z) after.
    assert_eq!(
        fires(&schedule, "2026-10-29T00:00:00Z", 3),
        [
            "2026-10-29T13:00:00Z",
            "2026-10-30T13:00:00Z",
            "2026-11-02T14:00:00Z"
        ]
    );
    // Spring forward on Sunday 2026-03-08: EST (14:00Z) before, EDT (13:00Z) after.
    assert_eq!(
        fires(&schedule, "2026-03-06T00:00:00Z", 2),
        ["2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"]
    );
}

fn cron_strategy() -> impl Strategy<Value = String> {
    let minute = prop::sample::select(vec!["*", "0", "*/15", "5,35", "10-20", "0-59/20", "59"]);
    let hour = prop::sample::select(vec!["*", "9", "0-23/6", "1,2,3", "2", "*/5"]);
    let dom = prop::sample::select(vec!["*", "1", "15", "1-7", "L", "29", "*/10"]);
    let month = prop::sample::select(vec!["*", "JAN", "1-6", "*/3", "NOV", "MAR,OCT", "2"]);
    let dow = prop::sample::select(vec!["*", "MON-FRI", "0", "SAT,SUN", "1-5", "3", "FRI"]);
    (minute, hour, dom, month, dow).prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
}

fn timezone_strategy() -> impl Strategy<Value = &'static str> {
    // Lord Howe moves its clock by 30 minutes; Kolkata has no DST and a half-hour offset.
    prop::sample::select(vec![
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn next_after_is_increasing_and_idempotent(
        cron in cron_strategy(),
        timezone in timezone_strategy(),
        // 2020-01-01 .. 2036-01-01, with sub-second noise.
        from in 1_577_836_800i64..2_082_758_400i64,
        nanos in prop::sample::select(vec![0i32, 1, 500_000_000, 999_999_999]),
    ) {
        let schedule = recurring(&cron, timezone);
        prop_assert!(schedule.validate(Timestamp::new(from, 0).expect("in range")).is_ok());
        let mut at = Timestamp::new(from, nanos).expect("in range");
        for _ in 0..6 {
            let next = schedule.next_after(at).expect("a valid pattern fires again");
            prop_assert!(next > at, "{cron} {timezone}: {next} <= {at}");
            prop_assert_eq!(schedule.next_after(at), Some(next));
            // Nothing fires in between: any instant in [at, next) leads to the same `next`.
            let mid = Timestamp::new((at.as_second() + next.as_second()) / 2, 0).expect("range");
            if mid >= at {
                prop_assert_eq!(schedule.next_after(mid), Some(next), "{} {}", cron, mid);
            }
            // first_run is the inclusive twin of next_after.
            let first = schedule.first_run(at);
            prop_assert!(first == Some(at) || first == Some(next), "{:?} {} {}", first, at, next);
            at = next;
        }
    }
}

#[test]
fn schema_lists_the_four_kinds() {
    let schema = serde_json::to_value(<Schedule as utoipa::PartialSchema>::schema()).expect("json");
    let kinds: Vec<&str> = schema["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .filter_map(|v| v["properties"]["type"]["enum"][0].as_str())
        .collect();
    assert_eq!(kinds, ["immediate", "once", "recurring", "api"]);
}
