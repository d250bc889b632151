//! The real `probe` example function, started as a process against a fake
//! Runtime API, shut down with real signals.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::Report;
use nix::sys::signal::Signal;
use support::*;

/// The runtime's share of the shutdown phase: Lambda SIGKILLs a runtime
/// still running after it. The process must exit before it, whatever the
/// budget; how fast it exits is measured by the bench, not asserted here.
fn runtime_share() -> Duration {
    Duration::from_millis(
        graceful_shutdown_protocol::limits()
            .shutdown
            .runtime_share_ms,
    )
}

struct Run {
    /// The function's Runtime API.
    api: FakeLambdaApi,
    listener: FakeReportListener,
    scratch: Scratch,
    process: Process,
}

/// Start the probe with these handlers and budget, and wait for its init to end.
fn start_probe(
    handlers: &str,
    timeout_ms: u32,
    extra_env: &[(&str, &str)],
    attach_extension: bool,
) -> Run {
    start_probe_with_invocations(handlers, timeout_ms, extra_env, attach_extension, vec![])
}

/// [`start_probe`], then serve these invocation events; returns when the
/// function has answered them all and asks for the next one.
fn start_probe_with_invocations(
    handlers: &str,
    timeout_ms: u32,
    extra_env: &[(&str, &str)],
    attach_extension: bool,
    invocations: Vec<String>,
) -> Run {
    let served = invocations.len();
    let api = FakeLambdaApi::start(invocations);
    let listener = FakeReportListener::start();
    let scratch = Scratch::new();
    let secret_file = if attach_extension {
        scratch.write_secret()
    } else {
        scratch.path("no-such-secret")
    };
    let mut cmd = lambda_command(&probe_binary(), &api, &scratch, "probe");
    cmd.env("PROBE_HANDLERS", handlers)
        .env("PROBE_OUTPUT", scratch.path("output"))
        .env("GRACEFUL_SHUTDOWN_PORT", listener.port.to_string())
        .env("GRACEFUL_SHUTDOWN_TIMEOUT_MS", timeout_ms.to_string())
        .env("GRACEFUL_SHUTDOWN_SECRET_FILE", &secret_file);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let process = Process::spawn(cmd);
    api.wait_for_next_calls(served + 1, DEADLINE);
    Run {
        api,
        listener,
        scratch,
        process,
    }
}

impl Run {
    fn output(&self) -> Vec<String> {
        self.scratch.lines("output")
    }
    fn stdout(&self) -> String {
        self.scratch.read("probe.out")
    }
    fn stderr(&self) -> String {
        self.scratch.read("probe.err")
    }
    /// SIGTERM now; returns when it was sent.
    fn sigterm(&self) -> Instant {
        let at = Instant::now();
        self.process.signal(Signal::SIGTERM);
        at
    }
    /// Wait until `line` is in the probe's output file.
    fn wait_for_line(&self, line: &str) {
        self.scratch
            .wait_for_line("output", &format!("{line:?} in the output"), |l| l == line);
    }
    /// Wait for the exit, then for the listener to have every report the
    /// process wrote.
    fn exit(&mut self) -> (std::process::ExitStatus, Instant) {
        let exit = self.process.wait_exit(DEADLINE);
        self.listener.settle();
        exit
    }
    /// From the signal to the exit, as the library measured it (its last
    /// log line): what decides whether Lambda has to SIGKILL the runtime,
    /// whatever the machine's load adds around it.
    fn exit_ms(&self) -> Duration {
        let log = self.stdout();
        let line = log
            .lines()
            .find(|l| l.contains("exiting with status 0"))
            .unwrap_or_else(|| panic!("no exit line in the log: {log}"));
        let ms = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("total_ms="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no total_ms in {line:?}"));
        Duration::from_millis(ms)
    }
    /// The library exits before the runtime's share (its own measure), and
    /// the exit is seen well within the phase (the test's clock, with the
    /// machine's load in it).
    fn assert_exit_in_share(&self, took: Duration) {
        let inside = self.exit_ms();
        assert!(
            inside < runtime_share(),
            "the library exited {inside:?} after the signal: after the runtime's share"
        );
        assert!(
            took < Duration::from_millis(graceful_shutdown_protocol::limits().shutdown.phase_ms),
            "the exit was seen {took:?} after SIGTERM"
        );
    }
    fn wait_for_all_done(&self) -> Report {
        self.listener
            .wait_for("allDone", DEADLINE, |r| matches!(r, Report::AllDone { .. }));
        self.listener
            .reports()
            .into_iter()
            .find(|r| matches!(r, Report::AllDone { .. }))
            .expect("allDone")
    }
}

fn lines(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sigterm_twice_runs_each_handler_once_and_exits_zero_within_budget() {
    // The largest budget, and a handler long enough to be running when the
    // later signals are seen.
    let mut run = start_probe("flush:ok,close-pool:sleep=150", 280, &[], true);
    let sent = run.sigterm();
    // A second SIGTERM while the handlers run (the first one has been seen:
    // a handler has started), and a third right after it.
    run.wait_for_line("start flush");
    run.process.signal(Signal::SIGTERM);
    run.process.signal(Signal::SIGTERM);
    run.scratch
        .wait_for_line("probe.out", "the later SIGTERM logged", |l| {
            l.contains("SIGTERM received again")
        });
    let (status, exited) = run.exit();

    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status:?}; stderr: {}",
        run.stderr()
    );
    // Each handler starts exactly once, in registration order. Whether
    // `close-pool` also ends inside the budget is up to the machine's load
    // (a starved process may be cut at the budget): either way, once.
    let output = run.output();
    let starts: Vec<&String> = output.iter().filter(|l| l.starts_with("start ")).collect();
    assert_eq!(
        starts,
        ["start flush", "start close-pool"],
        "each handler runs exactly once, in registration order: {output:?}\n{}",
        run.stdout()
    );
    assert_eq!(
        output[..3],
        lines(&["start flush", "flush", "start close-pool"])
    );
    let took = exited - sent;
    // No exit-within-the-share check: the handlers take most of it here
    // (the other cases, with short handlers, check it).
    assert!(
        took >= Duration::from_millis(150),
        "exit before the 150 ms handler could finish: {took:?}"
    );

    let reports = run.listener.reports();
    assert_eq!(
        reports
            .iter()
            .filter(|r| matches!(r, Report::ShutdownStarted { .. }))
            .count(),
        1,
        "{reports:?}"
    );
    assert!(reports.contains(&Report::ShutdownStarted {
        signal: "SIGTERM".into()
    }));
    let done = run.wait_for_all_done();
    assert!(
        matches!(
            done,
            Report::AllDone {
                completed,
                failed: 0,
                timed_out,
                ..
            } if completed + timed_out == 2 && completed >= 1
        ),
        "{done:?}"
    );
    let first_started = run.listener.wait_for("started", Duration::ZERO, |r| {
        matches!(r, Report::Started { .. })
    });
    eprintln!(
        "figure: SIGTERM -> first `started` report received: {:.2} ms; SIGTERM -> exit 0 seen: {:.2} ms (handlers: 0 ms + 150 ms)",
        ms(first_started - sent),
        ms(took)
    );
}

#[test]
fn a_panicking_or_failing_handler_does_not_stop_the_next() {
    let mut run = start_probe("boom:panic,bad:error,after:ok", 250, &[], true);
    run.sigterm();
    let (status, _) = run.exit();

    assert_eq!(status.code(), Some(0), "stderr: {}", run.stderr());
    assert_eq!(
        run.output(),
        lines(&["start boom", "start bad", "start after", "after"])
    );
    assert!(matches!(
        run.wait_for_all_done(),
        Report::AllDone {
            completed: 1,
            failed: 2,
            timed_out: 0,
            ..
        }
    ));
    let reports = run.listener.reports();
    let failure = |name: &str| {
        reports.iter().find_map(|r| match r {
            Report::Failed { handler, error, .. } if handler == name => Some(error.clone()),
            _ => None,
        })
    };
    assert_eq!(
        failure("boom").as_deref(),
        Some("panicked: injected panic in boom"),
        "{reports:?}"
    );
    assert_eq!(
        failure("bad").as_deref(),
        Some("injected error in bad"),
        "{reports:?}"
    );
    assert!(reports
        .iter()
        .any(|r| matches!(r, Report::Finished { handler, index: 2, .. } if handler == "after")));
    // Each failure is logged with the handler's name.
    let log = run.stdout();
    let failed_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("shutdown handler failed"))
        .collect();
    assert_eq!(failed_lines.len(), 2, "{log}");
    assert!(
        failed_lines[0].contains("boom")
            && failed_lines[0].contains("panicked: injected panic in boom"),
        "{log}"
    );
    assert!(
        failed_lines[1].contains("bad") && failed_lines[1].contains("injected error in bad"),
        "{log}"
    );
}

#[test]
fn a_slow_handler_is_cut_at_the_budget_and_reported_timed_out() {
    // 150 ms: room both for `slow` to start on a loaded machine and for the
    // exit before the runtime's share.
    let budget = Duration::from_millis(150);
    // `slow` first: on a loaded machine a handler before it could use up the
    // budget and have it skipped (what the remaining handler gets of the
    // budget is the unit tests' business, on a paused clock).
    let mut run = start_probe("slow:sleep=5000,late:ok", 150, &[], true);
    let sent = run.sigterm();
    let (status, exited) = run.exit();
    let took = exited - sent;

    assert_eq!(status.code(), Some(0), "stderr: {}", run.stderr());
    assert!(
        took >= budget,
        "exited before the budget was used: {took:?}"
    );
    run.assert_exit_in_share(took);
    // `slow` never finished; `late` was never started: the budget was gone.
    assert_eq!(run.output(), lines(&["start slow"]));
    let reports = run.listener.reports();
    let timed_out = reports
        .iter()
        .find_map(|r| match r {
            Report::TimedOut {
                handler,
                index: 0,
                duration_ms,
            } if handler == "slow" => Some(*duration_ms),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no timedOut report for slow: {reports:?}"));
    // `slow` is cut at the budget's end (how soon after it, is the bench's business).
    let share_ms = u64::try_from(runtime_share().as_millis()).expect("ms");
    assert!(
        (1..share_ms).contains(&timed_out),
        "slow ran {timed_out} ms before it was cut"
    );
    assert!(!reports
        .iter()
        .any(|r| matches!(r, Report::Started { handler, .. } if handler == "late")));
    let done = run.wait_for_all_done();
    assert!(
        matches!(
            done,
            Report::AllDone { completed: 0, failed: 0, timed_out: 1, total_ms } if (150..share_ms).contains(&total_ms)
        ),
        "{done:?}"
    );
    assert!(
        run.stdout().contains("shutdown handler skipped"),
        "{}",
        run.stdout()
    );
    eprintln!(
        "figure: budget 150 ms, slow handler cut; SIGTERM -> exit 0 seen: {:.2} ms",
        ms(took)
    );
}

#[test]
fn concurrent_handlers_start_together_and_share_the_budget() {
    // In order these would need 300 ms; the budget is 280 ms.
    let mut run = start_probe(
        "a:sleep=100,b:sleep=100,c:sleep=100",
        280,
        &[("PROBE_CONCURRENT", "1")],
        true,
    );
    let sent = run.sigterm();
    let (status, exited) = run.exit();
    let took = exited - sent;

    assert_eq!(status.code(), Some(0), "stderr: {}", run.stderr());
    let out = run.output();
    assert_eq!(out.len(), 6, "{out:?}");
    let mut starts: Vec<&String> = out[..3].iter().collect();
    starts.sort();
    assert_eq!(
        starts,
        ["start a", "start b", "start c"],
        "all start before any ends: {out:?}"
    );
    let mut ends: Vec<&String> = out[3..].iter().collect();
    ends.sort();
    assert_eq!(ends, ["a", "b", "c"]);
    run.assert_exit_in_share(took);
    assert!(matches!(
        run.wait_for_all_done(),
        Report::AllDone {
            completed: 3,
            failed: 0,
            timed_out: 0,
            ..
        }
    ));
    let hello = run
        .listener
        .reports()
        .into_iter()
        .find(|r| matches!(r, Report::Hello { .. }));
    assert!(
        matches!(
            hello,
            Some(Report::Hello {
                concurrent: true,
                ..
            })
        ),
        "{hello:?}"
    );
    eprintln!(
        "figure: 3 concurrent 100 ms handlers; SIGTERM -> exit 0 seen: {:.2} ms",
        ms(took)
    );
}

#[test]
fn without_the_extension_one_warning_and_the_handlers_still_run() {
    let mut run = start_probe("flush:ok", 250, &[], false);
    let log = run.stdout();
    let warnings = log
        .lines()
        .filter(|l| l.contains("extension is not attached"))
        .count();
    assert_eq!(warnings, 1, "{log}");
    assert!(log.contains("Lambda sends no SIGTERM"), "{log}");
    assert!(log.contains("attach the graceful-shutdown layer"), "{log}");
    // With a subscriber, the warning goes through it only.
    assert!(
        !run.stderr().contains("extension is not attached"),
        "{}",
        run.stderr()
    );

    run.sigterm();
    let (status, _) = run.exit();
    assert_eq!(status.code(), Some(0));
    assert_eq!(run.output(), lines(&["start flush", "flush"]));
    // `exit` waited for the listener to handle every connection there was.
    assert!(
        run.listener.reports().is_empty(),
        "nothing is reported without the extension"
    );
    assert_eq!(
        run.listener
            .refused
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    let log = run.stdout();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("extension is not attached"))
            .count(),
        1,
        "{log}"
    );
}

#[test]
fn cold_start_says_hello_and_a_bad_setting_falls_back_to_the_default() {
    let invocations: Vec<String> = (1..=5).map(|i| format!(r#"{{"n":{i}}}"#)).collect();
    let mut run = start_probe_with_invocations(
        "flush:ok,close-pool:ok",
        250,
        &[("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "abc")],
        true,
        invocations,
    );
    let hello = Report::Hello {
        pid: run.process.id(),
        handlers: vec!["flush".into(), "close-pool".into()],
        timeout_ms: 250,
        concurrent: false,
        first_index: 0,
    };
    run.listener
        .wait_for("hello", DEADLINE, |r| matches!(r, Report::Hello { .. }));
    assert_eq!(run.listener.reports()[0], hello);
    assert!(
        run.stdout().contains(r#"GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got \"abc\"; using the default 250"#)
            || run.stdout().contains(r#"GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"; using the default 250"#),
        "{}",
        run.stdout()
    );
    // The five invocations ran and were answered.
    assert_eq!(
        run.output(),
        lines(&["invoke 1", "invoke 2", "invoke 3", "invoke 4", "invoke 5"])
    );
    assert_eq!(run.api.log.lock().expect("lock").responses.len(), 5);

    run.sigterm();
    assert_eq!(run.exit().0.code(), Some(0));
    run.wait_for_all_done();
    // Reports go out in the order they were queued, so anything the invoke
    // path had queued would come before `shutdownStarted`: only `hello` does.
    let reports = run.listener.reports();
    let signal = reports
        .iter()
        .position(|r| matches!(r, Report::ShutdownStarted { .. }))
        .unwrap_or_else(|| panic!("no shutdownStarted: {reports:?}"));
    assert_eq!(reports[..signal], [hello], "{reports:?}");
}

#[test]
fn without_a_tracing_subscriber_the_cold_start_warnings_go_to_stderr() {
    let mut run = start_probe(
        "flush:ok",
        250,
        &[
            ("PROBE_NO_SUBSCRIBER", "1"),
            ("GRACEFUL_SHUTDOWN_PORT", "9001"),
        ],
        false,
    );
    let err = run.stderr();
    let missing: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("extension is not attached"))
        .collect();
    assert_eq!(missing.len(), 1, "{err}");
    assert!(
        missing[0]
            .starts_with("graceful-shutdown: the graceful-shutdown extension is not attached"),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with(
            "graceful-shutdown: GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API"
        ) && l.ends_with(r#"got "9001"; using the default 4471"#)),
        "{err}"
    );
    run.sigterm();
    assert_eq!(run.exit().0.code(), Some(0));
    assert_eq!(run.output(), lines(&["start flush", "flush"]));
}

#[test]
fn sigint_also_runs_the_handlers() {
    let mut run = start_probe("flush:ok", 250, &[], true);
    run.process.signal(Signal::SIGINT);
    assert_eq!(run.exit().0.code(), Some(0));
    assert_eq!(run.output(), lines(&["start flush", "flush"]));
    assert!(run.listener.reports().contains(&Report::ShutdownStarted {
        signal: "SIGINT".into()
    }));
}

// ---- the probe's own contract, which other end-to-end tests rely on ----

#[test]
fn probe_without_the_library_dies_on_sigterm() {
    let mut run = start_probe("flush:ok", 250, &[("PROBE_NO_LIBRARY", "1")], true);
    run.sigterm();
    let (status, _) = run.exit();
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32), "{status:?}");
    assert!(run.output().is_empty(), "{:?}", run.output());
    assert!(run.listener.reports().is_empty());
}

#[test]
fn probe_ignoring_sigterm_survives_it_until_sigkill() {
    let mut run = start_probe("flush:ok", 250, &[("PROBE_IGNORE_SIGTERM", "1")], true);
    run.sigterm();
    // The probe logs each SIGTERM it ignores: seen, the signal has been handled.
    run.scratch
        .wait_for_line("probe.out", "the probe ignores SIGTERM", |l| {
            l.contains("SIGTERM ignored")
        });
    assert!(run.process.is_running(), "SIGTERM must be ignored");
    run.process.signal(Signal::SIGKILL);
    let (status, _) = run.exit();
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    assert!(run.output().is_empty());
    assert!(run.listener.reports().is_empty());
}

#[test]
fn probe_invocations_echo_sleep_and_exit() {
    let api = FakeLambdaApi::start(vec![
        r#"{"hello":1}"#.into(),
        r#"{"action":"sleep","ms":30}"#.into(),
        r#"{"action":"exit","code":3}"#.into(),
    ]);
    let scratch = Scratch::new();
    let mut cmd = lambda_command(&probe_binary(), &api, &scratch, "probe");
    cmd.env("PROBE_OUTPUT", scratch.path("output"))
        .env("GRACEFUL_SHUTDOWN_SECRET_FILE", scratch.path("none"));
    let mut process = Process::spawn(cmd);
    let (status, _) = process.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(3));
    assert_eq!(
        scratch.lines("output"),
        lines(&["invoke 1", "invoke 2", "invoke 3"])
    );
    let log = api.log.lock().expect("lock");
    let responses: Vec<(String, serde_json::Value)> = log
        .responses
        .iter()
        .map(|(id, body)| {
            (
                id.clone(),
                serde_json::from_str(body).expect("json response"),
            )
        })
        .collect();
    assert_eq!(
        responses,
        vec![
            ("req-1".to_owned(), serde_json::json!({"hello":1})),
            (
                "req-2".to_owned(),
                serde_json::json!({"action":"sleep","ms":30})
            ),
        ]
    );
}

#[test]
fn probe_crash_aborts_and_bad_handler_lists_are_refused() {
    let api = FakeLambdaApi::start(vec![r#"{"action":"crash"}"#.into()]);
    let scratch = Scratch::new();
    let mut cmd = lambda_command(&probe_binary(), &api, &scratch, "probe");
    cmd.env("GRACEFUL_SHUTDOWN_SECRET_FILE", scratch.path("none"));
    let (status, _) = Process::spawn(cmd).wait_exit(DEADLINE);
    assert_eq!(status.signal(), Some(Signal::SIGABRT as i32), "{status:?}");

    let mut cmd = lambda_command(&probe_binary(), &api, &scratch, "bad");
    cmd.env("PROBE_HANDLERS", "flush:nap");
    let (status, _) = Process::spawn(cmd).wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(2));
    let err = scratch.read("bad.err");
    assert!(
        err.contains(r#"PROBE_HANDLERS: unknown behaviour in "flush:nap""#),
        "{err}"
    );
}
