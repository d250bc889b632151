//! The verdict for several workers: on Lambda Managed Instances one
//! environment runs several copies of the function (worker processes of the
//! Python client, worker threads of the Node.js client), each with its own
//! handlers and its own reports, told apart by their `worker`. Reports are
//! grouped per worker in arrival order, each worker is decided as one
//! process, and the verdict stays one line. From one worker it is exactly
//! the single-process verdict. See "Several workers" in `docs/protocol.md`.

use graceful_shutdown_protocol::{limits, Report, ShutdownReason, WorkerReport};

use super::{Decide, Outcome, Verdict, WorkerVerdict};

/// Most untracked workers counted one by one (`untracked_workers` stops there).
const MAX_UNTRACKED: usize = 1024;

/// One worker's reports, in arrival order.
struct Group<'a> {
    worker: Option<&'a str>,
    reports: Vec<&'a Report>,
}

/// Decide the verdict from reports of any number of workers.
pub(super) fn decide(reason: &ShutdownReason, reports: &[WorkerReport]) -> Verdict {
    let caps = &limits().verdict;
    let mut groups: Vec<Group<'_>> = Vec::new();
    // Workers beyond the cap, once each; a linear search, so the list is
    // bounded too (at most 10,000 reports reach the verdict anyway).
    let mut untracked: Vec<Option<&str>> = Vec::new();
    for sent in reports {
        // An unknown report type says nothing about a worker.
        if sent.report == Report::Unknown {
            continue;
        }
        let worker = sent.worker.as_deref();
        // At most `maxWorkers` groups: a linear search is all it takes.
        if let Some(group) = groups.iter_mut().find(|g| g.worker == worker) {
            group.reports.push(&sent.report);
        } else if groups.len() < caps.max_workers {
            groups.push(Group {
                worker,
                reports: vec![&sent.report],
            });
        } else {
            if untracked.len() < MAX_UNTRACKED && !untracked.contains(&worker) {
                untracked.push(worker);
            }
        }
    }
    if groups.len() <= 1 && untracked.is_empty() {
        let reports = groups.pop().map(|g| g.reports).unwrap_or_default();
        return Verdict::decide_one(reason, reports, caps.max_handlers_per_worker);
    }

    // Each worker keeps its share of the handler slots.
    let max_index = (caps.max_handler_slots / groups.len())
        .saturating_sub(1)
        .min(caps.max_handlers_per_worker);
    let mut handlers = Vec::new();
    let mut workers = Vec::with_capacity(groups.len());
    let mut budget_ms = None;
    for (n, group) in groups.iter().enumerate() {
        let label = format!("w{}", n + 1);
        let one = Verdict::decide_one(reason, group.reports.iter().copied(), max_index);
        budget_ms = budget_ms.or(one.budget_ms);
        handlers.extend(one.handlers.into_iter().map(|mut h| {
            h.worker = Some(label.clone());
            h
        }));
        workers.push(WorkerVerdict {
            label,
            worker: group.worker.unwrap_or_default().to_owned(),
            outcome: one.outcome,
            total_ms: one.total_ms,
            signal: one.signal,
        });
    }
    let any = |outcome: Outcome| workers.iter().any(|w| w.outcome == outcome);
    let outcome = if any(Outcome::RuntimeKilled) {
        Outcome::RuntimeKilled
    } else if any(Outcome::HandlersFailed) {
        Outcome::HandlersFailed
    } else {
        Outcome::Completed
    };
    // The first signal any tracked worker reported, in arrival order.
    let signal = reports.iter().find_map(|sent| match &sent.report {
        Report::ShutdownStarted { signal }
            if groups.iter().any(|g| g.worker == sent.worker.as_deref()) =>
        {
            Some(signal.clone())
        }
        _ => None,
    });
    Verdict {
        outcome,
        reason: reason.clone(),
        handlers,
        total_ms: None,
        signal,
        workers,
        untracked_workers: untracked.len(),
        budget_ms,
        handoff: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{HandlerStatus, Written};
    use super::*;
    use graceful_shutdown_protocol::fixtures::*;
    use std::collections::HashSet;

    /// A worker's whole, successful shutdown: `flush` then `close-pool`.
    fn clean_run(worker: &str, flush_ms: u64, close_ms: u64) -> Vec<WorkerReport> {
        vec![
            from(worker, hello(&["flush", "close-pool"])),
            from(worker, sigterm()),
            from(worker, started("flush", 0)),
            from(worker, finished("flush", 0, flush_ms)),
            from(worker, started("close-pool", 1)),
            from(worker, finished("close-pool", 1, close_ms)),
            from(worker, all_completed(2, flush_ms + close_ms)),
        ]
    }

    #[test]
    fn one_worker_is_exactly_the_single_process_verdict() {
        for worker in [None, Some("4242".to_owned())] {
            let sent: Vec<WorkerReport> = clean_run("x", 10, 3)
                .into_iter()
                .map(|r| WorkerReport {
                    worker: worker.clone(),
                    report: r.report,
                })
                .collect();
            let plain: Vec<Report> = sent.iter().map(|r| r.report.clone()).collect();
            let v = Verdict::decide_workers(&"spindown".into(), &sent);
            assert_eq!(v, Verdict::decide(&"spindown".into(), &plain), "{worker:?}");
            assert_eq!(
                v.to_text(),
                "graceful-shutdown verdict: outcome=completed reason=spindown handlers=2/2 total_ms=13 \
                 flush=ok(10ms) close-pool=ok(3ms) -- all 2 shutdown handlers completed in 13 ms"
            );
            assert_eq!(
                serde_json::to_string(&v).expect("serializes"),
                r#"{"outcome":"completed","reason":"spindown","handlers":[{"name":"flush","status":"ok","durationMs":10},{"name":"close-pool","status":"ok","durationMs":3}],"totalMs":13,"signal":"SIGTERM","budgetMs":250}"#
            );
        }
    }

    #[test]
    fn no_reports_from_any_worker_is_no_report() {
        let v = Verdict::decide_workers(&"spindown".into(), &[]);
        assert_eq!(v.outcome, Outcome::NoReport);
        assert!(v.workers.is_empty());
        // An unknown report type, even with a worker, is not a report of a worker.
        let v = Verdict::decide_workers(
            &"spindown".into(),
            &[from("1", Report::Unknown), from("2", Report::Unknown)],
        );
        assert_eq!(v.outcome, Outcome::NoReport);
        assert!(v
            .to_text()
            .contains("outcome=no_report reason=spindown handlers=0/0 --"));
    }

    #[test]
    fn two_workers_that_completed() {
        let mut sent = clean_run("4242", 10, 3);
        sent.extend(clean_run("4243", 9, 4));
        let v = Verdict::decide_workers(&"SPINDOWN".into(), &sent);
        assert_eq!(v.outcome, Outcome::Completed);
        assert_eq!(
            v.to_text(),
            "graceful-shutdown verdict: outcome=completed reason=spindown workers=2 handlers=4/4 \
             w1=4242 w1_outcome=completed w1_total_ms=13 w1.flush=ok(10ms) w1.close-pool=ok(3ms) \
             w2=4243 w2_outcome=completed w2_total_ms=13 w2.flush=ok(9ms) w2.close-pool=ok(4ms) \
             -- all 2 workers completed their 4 shutdown handlers"
        );
        assert_eq!(
            v.total_ms, None,
            "no overall total: each worker has its own"
        );
        assert_eq!(v.signal.as_deref(), Some("SIGTERM"));
    }

    #[test]
    fn one_worker_cut_off_makes_the_runtime_killed() {
        let mut sent = clean_run("4242", 10, 3);
        sent.extend([
            from("4243", hello(&["flush", "close-pool"])),
            from("4243", sigterm()),
            from("4243", started("flush", 0)),
            from("4243", finished("flush", 0, 9)),
            from("4243", started("close-pool", 1)),
        ]);
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        assert_eq!(v.outcome, Outcome::RuntimeKilled);
        assert_eq!(
            v.to_text(),
            "graceful-shutdown verdict: outcome=runtime_killed reason=spindown workers=2 handlers=3/4 \
             w1=4242 w1_outcome=completed w1_total_ms=13 w1.flush=ok(10ms) w1.close-pool=ok(3ms) \
             w2=4243 w2_outcome=runtime_killed w2.flush=ok(9ms) w2.close-pool=running \
             -- 1 of 2 workers completed; w2: the runtime was gone before its shutdown handlers \
             finished: 1 of 2 completed, cut off while running close-pool"
        );
    }

    #[test]
    fn a_worker_that_only_said_hello_was_cut_off() {
        let mut sent = vec![from("88/2", hello(&["flush"]))];
        sent.extend(clean_run("88/1", 1, 1));
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        assert_eq!(v.outcome, Outcome::RuntimeKilled);
        assert_eq!(v.workers[0].worker, "88/2", "numbered by first report");
        assert_eq!(v.workers[0].outcome, Outcome::RuntimeKilled);
        assert_eq!(v.workers[1].outcome, Outcome::Completed);
        let text = v.to_text();
        assert!(
            text.contains(" w1=88/2 w1_outcome=runtime_killed w1.flush=not_started w2=88/1 "),
            "{text}"
        );
        assert!(
            text.ends_with(
                "-- 1 of 2 workers completed; w1: the runtime was gone before its shutdown \
                 handlers finished: 0 of 1 completed, none started (no SIGTERM was handled)"
            ),
            "{text}"
        );
    }

    #[test]
    fn failures_in_one_worker_fail_the_verdict_and_killed_beats_failed() {
        let failed = |w: &str| {
            vec![
                from(w, hello(&["a", "b"])),
                from(w, sigterm()),
                from(w, finished("a", 0, 1)),
                from(w, failed("b", 1, 2, "disk full")),
                from(w, all_done(1, 1, 0, 3)),
            ]
        };
        let mut sent = clean_run("1", 1, 1);
        sent.extend(failed("2"));
        let v = Verdict::decide_workers(&"timeout".into(), &sent);
        assert_eq!(v.outcome, Outcome::HandlersFailed);
        assert!(
            v.to_text().ends_with(
                "-- 1 of 2 workers completed; w2: 1 of 2 shutdown handlers completed; b failed"
            ),
            "{}",
            v.to_text()
        );
        let failed_handler = v
            .handlers
            .iter()
            .find(|h| h.status == HandlerStatus::Failed)
            .expect("b failed");
        assert_eq!(failed_handler.worker.as_deref(), Some("w2"));
        assert_eq!(failed_handler.error.as_deref(), Some("disk full"));

        sent.push(from("3", hello(&["a"])));
        let v = Verdict::decide_workers(&"timeout".into(), &sent);
        assert_eq!(v.outcome, Outcome::RuntimeKilled);
        assert!(
            v.summary().starts_with("1 of 3 workers completed; w2: 1 of 2 shutdown handlers completed; b failed; w3: the runtime was gone"),
            "{}",
            v.summary()
        );
    }

    #[test]
    fn interleaved_reports_give_the_same_verdict_as_grouped_ones() {
        let a = clean_run("10", 5, 6);
        let b = clean_run("11", 7, 8);
        let mut grouped = a.clone();
        grouped.extend(b.clone());
        let expected = Verdict::decide_workers(&"spindown".into(), &grouped);
        // Every way of interleaving the two (order kept within each worker)
        // that starts with worker 10: C(14, 7) / 2 of them.
        let mut checked = 0;
        for mask in 0u32..(1 << 14) {
            if mask.count_ones() != 7 || mask & 1 == 0 {
                continue;
            }
            let (mut ia, mut ib) = (a.iter(), b.iter());
            let mixed: Vec<WorkerReport> = (0..14)
                .filter_map(|bit| {
                    if mask & (1 << bit) != 0 {
                        ia.next()
                    } else {
                        ib.next()
                    }
                })
                .cloned()
                .collect();
            assert_eq!(
                Verdict::decide_workers(&"spindown".into(), &mixed),
                expected
            );
            checked += 1;
        }
        assert_eq!(checked, 1716);
        assert_eq!(expected.outcome, Outcome::Completed);
        assert_eq!(expected.handlers.len(), 4);
    }

    #[test]
    fn reports_without_worker_are_one_worker_of_their_own() {
        let mut sent: Vec<WorkerReport> = clean_run("x", 1, 2)
            .into_iter()
            .map(|r| WorkerReport::anonymous(r.report))
            .collect();
        sent.extend(clean_run("4242", 3, 4));
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        assert_eq!(v.workers.len(), 2);
        assert!(
            v.to_text().contains(" w1=\"\" w1_outcome=completed "),
            "{}",
            v.to_text()
        );
    }

    #[test]
    fn keys_parse_back_and_a_handler_named_outcome_does_not_collide() {
        let names = ["outcome", "flush buffer", "a=b", "two\nlines"];
        let mut sent = Vec::new();
        for w in ["4242", "odd worker"] {
            sent.push(from(w, hello(&names)));
            sent.push(from(w, sigterm()));
            for (i, name) in names.iter().enumerate() {
                sent.push(from(w, finished(name, i, 1)));
            }
            sent.push(from(w, all_completed(4, 4)));
        }
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        let text = v.to_text();
        assert!(!text.contains('\n'), "{text}");
        let keys = crate::verdict::text::keys_of(&text);
        let unique: HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "every key once: {keys:?}");
        let mut expected = vec!["outcome", "reason", "workers", "handlers"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        for w in ["w1", "w2"] {
            expected.extend([
                w.to_owned(),
                format!("{w}_outcome"),
                format!("{w}_total_ms"),
            ]);
            expected.extend(names.iter().map(|n| format!("{w}.{n}")));
        }
        assert_eq!(keys, expected);
        assert!(text.contains(" w2=\"odd worker\" "), "{text}");
    }

    #[test]
    fn workers_beyond_the_cap_are_counted_not_itemized() {
        let caps = &limits().verdict;
        let extra = 6;
        let mut sent = Vec::new();
        for w in 0..caps.max_workers + extra {
            sent.extend(clean_run(&w.to_string(), 1, 1));
        }
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        assert_eq!(v.workers.len(), caps.max_workers);
        assert_eq!(v.untracked_workers, extra);
        assert_eq!(v.handlers.len(), 2 * caps.max_workers);
        assert_eq!(v.outcome, Outcome::Completed);
        let text = v.to_text();
        assert!(
            text.contains(&format!(
                "workers={} untracked_workers={extra} handlers=",
                caps.max_workers
            )),
            "{text}"
        );
        assert!(text.ends_with(&format!("; {extra} more workers reported, not tracked")));
    }

    #[test]
    fn hostile_indexes_from_many_workers_stay_within_the_slot_budget() {
        let caps = &limits().verdict;
        let sent: Vec<WorkerReport> = (0..caps.max_workers)
            .map(|w| from(&w.to_string(), started("x", usize::MAX)))
            .collect();
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        assert!(
            v.handlers.len() <= caps.max_handler_slots,
            "{}",
            v.handlers.len()
        );
        assert!(v.handlers.len() >= caps.max_workers);
        // Two workers keep up to the per-worker cap each.
        let two = [from("a", started("x", 5000)), from("b", started("x", 3))];
        let v = Verdict::decide_workers(&"spindown".into(), &two);
        assert_eq!(
            v.handlers.len(),
            (caps.max_handlers_per_worker + 1).min(caps.max_handler_slots / 2) + 4
        );
    }

    fn any_report() -> impl proptest::strategy::Strategy<Value = Report> {
        use proptest::prelude::*;
        let name = "[a-c ]{0,3}";
        let index = prop_oneof![0usize..4, Just(usize::MAX)];
        prop_oneof![
            (proptest::collection::vec(name, 0..4), 0usize..3).prop_map(|(names, first)| {
                Report::Hello {
                    pid: 1,
                    handlers: names,
                    timeout_ms: 1,
                    concurrent: false,
                    first_index: first,
                }
            }),
            Just(sigterm()),
            (name, index.clone()).prop_map(|(n, i)| Report::Started {
                handler: n,
                index: i
            }),
            (name, index.clone(), 0u64..9).prop_map(|(n, i, ms)| finished(&n, i, ms)),
            (name, index.clone()).prop_map(|(n, i)| Report::Failed {
                handler: n,
                index: i,
                duration_ms: 1,
                error: "e".into()
            }),
            (name, index).prop_map(|(n, i)| Report::TimedOut {
                handler: n,
                index: i,
                duration_ms: 1
            }),
            (0usize..3, 0u64..9).prop_map(|(c, t)| all_completed(c, t)),
            Just(Report::Unknown),
        ]
    }

    proptest::proptest! {
        #[test]
        fn any_reports_from_any_workers_give_a_consistent_one_line_verdict(
            sent in proptest::collection::vec(
                (proptest::option::of("[xy\" ]{0,2}"), any_report()),
                0..40,
            )
        ) {
            let sent: Vec<WorkerReport> = sent
                .into_iter()
                .map(|(worker, report)| WorkerReport { worker: worker.filter(|w| !w.is_empty()), report })
                .collect();
            let v = Verdict::decide_workers(&"spindown".into(), &sent);
            let text = v.to_text();
            proptest::prop_assert!(!text.contains('\n'));
            // The one parser reads back every line written, in both forms.
            let (from_text, from_json) = super::super::tests::read_back(&v);
            proptest::prop_assert_eq!(from_text, super::super::tests::text_part(&v));
            proptest::prop_assert_eq!(from_json, v.clone());
            proptest::prop_assert!(text.starts_with("graceful-shutdown verdict: outcome="));
            let known = sent.iter().filter(|r| r.report != Report::Unknown).count();
            proptest::prop_assert_eq!(v.outcome == Outcome::NoReport, known == 0);
            if v.workers.is_empty() {
                // One worker (or none): exactly the single-process verdict.
                let plain: Vec<Report> = sent.iter().map(|r| r.report.clone()).collect();
                proptest::prop_assert_eq!(&v, &Verdict::decide(&"spindown".into(), &plain));
            } else {
                proptest::prop_assert!(v.workers.len() >= 2);
                let any = |o: Outcome| v.workers.iter().any(|w| w.outcome == o);
                let expected = if any(Outcome::RuntimeKilled) {
                    Outcome::RuntimeKilled
                } else if any(Outcome::HandlersFailed) {
                    Outcome::HandlersFailed
                } else {
                    Outcome::Completed
                };
                proptest::prop_assert_eq!(v.outcome, expected);
                proptest::prop_assert!(v.handlers.iter().all(|h| h.worker.is_some()));
                let json = serde_json::to_string(&v).expect("serializes");
                let back: Verdict = serde_json::from_str(&json).expect("parses back");
                proptest::prop_assert_eq!(back, v);
            }
        }
    }

    #[test]
    fn json_form_for_several_workers() {
        let mut sent = clean_run("1", 1, 2);
        sent.truncate(4);
        sent.extend(clean_run("2", 3, 4));
        let v = Verdict::decide_workers(&"spindown".into(), &sent);
        let json = serde_json::to_string(&v).expect("serializes");
        assert_eq!(
            json,
            r#"{"outcome":"runtime_killed","reason":"spindown","handlers":[{"name":"flush","status":"ok","durationMs":1,"worker":"w1"},{"name":"close-pool","status":"not_started","worker":"w1"},{"name":"flush","status":"ok","durationMs":3,"worker":"w2"},{"name":"close-pool","status":"ok","durationMs":4,"worker":"w2"}],"signal":"SIGTERM","workers":[{"label":"w1","worker":"1","outcome":"runtime_killed","signal":"SIGTERM"},{"label":"w2","worker":"2","outcome":"completed","totalMs":7,"signal":"SIGTERM"}],"budgetMs":250}"#
        );
        let back: Verdict = serde_json::from_str(&json).expect("parses back");
        assert_eq!(back, v);
    }
}
