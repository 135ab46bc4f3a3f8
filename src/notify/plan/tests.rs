use super::*;
use crate::ledger::eta::parse;

const POLICY: Policy = Policy { eta_change_threshold_days: 3, reminder_days: None };

fn line(line_id: u64, open: u32, backordered: u32, eta: Option<&str>) -> LineNow {
    LineNow { line_id, open, backordered, position: Some(1), eta: eta.and_then(parse) }
}

fn first(lines: &[LineNow]) -> MailState {
    decide(&MailState::default(), lines, POLICY, 0).expect("backordered").1
}

#[test]
fn an_order_that_never_waits_is_owed_nothing() {
    assert_eq!(decide(&MailState::default(), &[line(1, 2, 0, None)], POLICY, 0), None);
}

#[test]
fn the_first_wait_is_told_once_with_only_the_waiting_lines() {
    let lines = [line(1, 2, 0, None), line(2, 3, 2, Some("2026-12-10"))];
    let (d, state) = decide(&MailState::default(), &lines, POLICY, 5).expect("an email");
    assert_eq!((d.kind, d.occasion.as_str()), ("backordered", "backordered"));
    assert_eq!(d.lines.iter().map(|l| (l.line_id, l.quantity)).collect::<Vec<_>>(), vec![(2, 2)]);
    assert_eq!(state.told.get(&2), Some(&Some("2026-12-10".to_string())));
    assert_eq!(decide(&state, &lines, POLICY, 6), None, "told once");
}

#[test]
fn covered_at_last_the_order_is_ready_once_with_what_waited() {
    let state = first(&[line(7, 5, 4, Some("2026-12-10"))]);
    let (d, state) = decide(&state, &[line(7, 5, 0, None)], POLICY, 1).expect("ready");
    assert_eq!((d.kind, d.lines[0].quantity), ("ready", 4));
    assert_eq!(decide(&state, &[line(7, 5, 0, None)], POLICY, 2), None);
}

#[test]
fn a_cancelled_order_is_not_told_it_is_ready() {
    let state = first(&[line(7, 5, 4, Some("2026-12-10"))]);
    assert_eq!(decide(&state, &[line(7, 0, 0, None)], POLICY, 1), None);
}

#[test]
fn a_date_moved_later_by_more_than_the_threshold_is_told_and_only_then() {
    let state = first(&[line(1, 1, 1, Some("2026-12-10")), line(2, 1, 1, Some("2026-12-20"))]);
    assert_eq!(
        decide(&state, &[line(1, 1, 1, Some("2026-12-13")), line(2, 1, 1, Some("2026-12-20"))], POLICY, 1),
        None
    );
    let later = [line(1, 1, 1, Some("2026-12-20")), line(2, 1, 1, Some("2026-12-20"))];
    let (d, state) = decide(&state, &later, POLICY, 1).expect("eta_changed");
    assert_eq!((d.kind, d.occasion.as_str()), ("eta_changed", "eta_changed-1"));
    assert_eq!(d.lines.len(), 1);
    assert_eq!(d.lines[0].previous_eta.as_deref(), Some("2026-12-10"));
    assert_eq!(decide(&state, &later, POLICY, 2), None, "the new date is what was told");
}

#[test]
fn a_date_that_becomes_unknown_or_earlier_is_not_told_until_a_later_one_is_known() {
    let state = first(&[line(1, 1, 1, Some("2026-12-10"))]);
    assert_eq!(decide(&state, &[line(1, 1, 1, Some("2026-12-01"))], POLICY, 1), None);
    assert_eq!(decide(&state, &[line(1, 1, 1, None)], POLICY, 1), None, "no date to name");
    let (d, _) = decide(&state, &[line(1, 1, 1, Some("2026-12-20"))], POLICY, 2).expect("told");
    assert_eq!((d.kind, d.lines[0].eta), ("eta_changed", parse("2026-12-20")));
}

mod histories {
    //! Random histories of an order's lines, decided step by step as the effects would: every
    //! `eta_changed` names, for each of its lines, a date later than the one last told by more
    //! than the threshold, so "backordered, then at once eta_changed" cannot happen without a
    //! real move.
    use proptest::prelude::*;

    use super::*;

    fn step() -> impl Strategy<Value = (Vec<LineNow>, i64)> {
        let one = |line_id: u64| {
            (0u32..4, 0u32..4, proptest::option::weighted(0.8, 0i64..60), proptest::option::of(1u64..50)).prop_map(
                move |(open, back, eta, position)| LineNow {
                    line_id,
                    open: open.max(back),
                    backordered: back,
                    position,
                    eta: eta.map(|d| parse("2027-01-01").unwrap() + time::Duration::days(d)),
                },
            )
        };
        ((one(1), one(2), one(3)), 0i64..(3 * DAY_MS)).prop_map(|((a, b, c), gap)| (vec![a, b, c], gap))
    }

    proptest! {
        #[test]
        fn every_eta_changed_names_a_date_later_than_told_by_more_than_the_threshold(
            threshold in 0u32..6,
            reminder in proptest::option::of(1u32..4),
            steps in proptest::collection::vec(step(), 1..40),
        ) {
            let policy = Policy { eta_change_threshold_days: threshold, reminder_days: reminder };
            let (mut state, mut now) = (MailState::default(), 0i64);
            for (lines, gap) in steps {
                now += gap;
                let Some((decision, next)) = decide(&state, &lines, policy, now) else { continue };
                prop_assert!(!state.decided.contains(&decision.occasion), "an occasion decided twice");
                if decision.kind == "eta_changed" {
                    for l in &decision.lines {
                        let told = state.told.get(&l.line_id).cloned().flatten().and_then(|t| parse(&t));
                        let (Some(told), Some(now)) = (told, l.eta) else {
                            return Err(TestCaseError::fail(format!("eta_changed without two dates: {l:?}")));
                        };
                        prop_assert!((now - told).whole_days() > i64::from(threshold), "{told} → {now}");
                    }
                }
                let again = decide(&next, &lines, policy, now);
                prop_assert!(
                    again.as_ref().is_none_or(|(d, _)| d.kind != "eta_changed"),
                    "an eta_changed right after {} with nothing moved", decision.kind
                );
                state = next;
            }
        }
    }
}

#[test]
fn reminders_come_every_n_days_while_the_order_waits() {
    let policy = Policy { reminder_days: Some(7), ..POLICY };
    let lines = [line(1, 1, 1, Some("2026-12-10"))];
    let state = decide(&MailState::default(), &lines, policy, 0).expect("first").1;
    assert_eq!(decide(&state, &lines, policy, 6 * DAY_MS), None);
    let (d, state) = decide(&state, &lines, policy, 7 * DAY_MS).expect("reminder");
    assert_eq!(d.occasion, "reminder-1");
    assert_eq!(decide(&state, &lines, policy, 8 * DAY_MS), None);
}

#[test]
fn the_slip_counts_from_the_first_date_told_across_every_later_email() {
    let state = first(&[line(1, 1, 1, Some("2026-12-10"))]);
    assert_eq!(slipped_days(&state, &[line(1, 1, 1, Some("2026-12-10"))]), 0);
    let (_, state) = decide(&state, &[line(1, 1, 1, Some("2026-12-15"))], POLICY, 1).expect("eta_changed");
    assert_eq!(state.first_told.get(&1).map(String::as_str), Some("2026-12-10"), "the first date stays");
    assert_eq!(slipped_days(&state, &[line(1, 1, 1, Some("2026-12-19"))]), 9, "in total, not since the last email");
    assert_eq!(slipped_days(&state, &[line(1, 1, 1, Some("2026-12-01"))]), 0, "earlier is no slip");
    assert_eq!(slipped_days(&state, &[line(1, 1, 0, None)]), 0, "a covered line has no slip");
}

/// A mail record as the version before the consolation wrote it: no first dates (the slip then
/// counts from the next date told) and no code, so the order can still get its one.
#[test]
fn a_mail_record_written_before_the_consolation_reads_with_no_code_and_no_first_dates() {
    let old = r#"{"decided":["backordered"],"told":{"7":"2026-12-10"},"waited":{"7":2},"eta_changes":0,
                 "reminders":0,"last_told_ms":5,"outbox":[],"undeliverable":[],"quiet":false}"#;
    let state: MailState = serde_json::from_str(old).expect("reads");
    assert_eq!((state.first_told.len(), state.consolation.clone()), (0, None));
    assert_eq!(state.told.get(&7), Some(&Some("2026-12-10".to_string())));
    let written = serde_json::to_string(&state).unwrap();
    assert!(!written.contains("first_told") && !written.contains("consolation"), "{written}");
}
