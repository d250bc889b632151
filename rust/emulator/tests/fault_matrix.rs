//! The end-to-end fault matrix of the shutdown layer and the emulator: the
//! real shutdown layer (`graceful-shutdown` extension) and the real function
//! library (the `probe` example function), as real processes on the emulator,
//! with faults of the extension's settings, of the platform (register
//! refused, odd shutdown reasons, a short deadline), of the layer's layout,
//! and forged reports. Each case asserts the timeline and the extension's
//! verdict line.
//!
//! What the function library does at shutdown is stated once, for every
//! language, in `tests/cases/shutdown.json` and run by the conformance driver
//! (`rust/conformance`, `tests/rust_probe.rs` for this library's probe), which
//! also checks Lambda's order in every run; the cases that came from here say
//! so in their `from`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::{built, free_port, official_extension, rt, serial, Staged};
use graceful_shutdown_emulator::{
    render, Emulator, EventKind, InvokeOutcome, RunReport, Scenario, ShutdownReason, Timeline,
    PLATFORM, RUNTIME,
};
use graceful_shutdown_protocol::{
    ENV_PORT, ENV_SECRET_FILE, ENV_TIMEOUT_MS, REPORT_PATH, SECRET_HEADER,
};

const EXT: &str = "graceful-shutdown";

fn extension_binary() -> PathBuf {
    built(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    )
}

fn probe_binary() -> PathBuf {
    built(
        "examples/probe",
        "cargo build -p lambda-graceful-shutdown --examples",
    )
}

/// One staged case: the probe as `bootstrap`, the extension in the layer,
/// a private port and secret file.
struct Case {
    staged: Staged,
    scenario: Scenario,
    port: u16,
}

fn case(handlers: &str) -> Case {
    case_with_layer(handlers, true)
}

fn case_with_layer(handlers: &str, layer: bool) -> Case {
    let mut staged = Staged::new().bootstrap(&probe_binary());
    if layer {
        staged = staged.extension(EXT, &extension_binary());
    }
    let port = free_port();
    let secret = staged.file("secret");
    let mut scenario = Scenario::new(staged.function_dir())
        .env("PROBE_HANDLERS", handlers)
        .env(ENV_PORT, port.to_string())
        .env(ENV_SECRET_FILE, secret.display().to_string());
    if layer {
        scenario = scenario.layer(staged.layer_dir());
    }
    // A runtime share the machine's load cannot use up: on a loaded test
    // machine a 300 ms share kills runtimes for the machine's sake. That
    // the runtime exits before Lambda's 300 ms is asserted on the library's
    // own measure (`exit_ms`); the share itself, and the SIGKILL after it,
    // in the cases that set one.
    scenario.runtime_share = Duration::from_millis(1000);
    Case {
        staged,
        scenario,
        port,
    }
}

fn run(scenario: Scenario) -> (RunReport, String) {
    let report = rt()
        .block_on(Emulator::run(scenario))
        .expect("the emulator runs");
    let text = render(&report.timeline);
    (report, text)
}

/// The verdict line, or a failure that shows the whole timeline.
fn verdict(t: &Timeline, text: &str) -> String {
    t.verdict_line()
        .unwrap_or_else(|| panic!("no verdict line:\n{text}"))
        .to_owned()
}

/// A value of the text verdict as written: `outcome`, `reason`, `handlers`
/// (`ok/n`), `total_ms`, or a handler's `status(<n>ms)`; read with the one
/// parser of the verdict line (`graceful_shutdown_protocol::verdict`).
fn field(verdict: &str, key: &str) -> String {
    let parsed = graceful_shutdown_protocol::verdict::parse(verdict)
        .unwrap_or_else(|e| panic!("{e}: {verdict:?}"));
    let v = parsed.verdict;
    match key {
        "outcome" => v.outcome.as_str().to_owned(),
        "reason" => v.reason.as_str().to_owned(),
        "handlers" => format!(
            "{}/{}",
            v.count(graceful_shutdown_protocol::verdict::HandlerStatus::Ok),
            v.handlers.len()
        ),
        "total_ms" => v
            .total_ms
            .map(|t| t.to_string())
            .unwrap_or_else(|| panic!("no total_ms= in {verdict:?}")),
        name => {
            let h = v
                .handler(name)
                .unwrap_or_else(|| panic!("no {name}= in {verdict:?}"));
            match h.duration_ms {
                Some(ms) => format!("{}({ms}ms)", h.status.as_str()),
                None => h.status.as_str().to_owned(),
            }
        }
    }
}

fn pos(
    t: &Timeline,
    text: &str,
    source: &str,
    what: &str,
    pred: impl Fn(&EventKind) -> bool,
) -> usize {
    t.position(source, pred)
        .unwrap_or_else(|| panic!("no {what} event from {source}:\n{text}"))
}

/// Lambda's order: SIGTERM to the runtime, the runtime gone, then SHUTDOWN to
/// the extension, which exits 0 on its own before the deadline.
fn assert_lambda_order(t: &Timeline, text: &str) {
    let phase = pos(t, text, PLATFORM, "shutdown phase", |k| {
        matches!(k, EventKind::ShutdownPhase { .. })
    });
    let sigterm = pos(
        t,
        text,
        RUNTIME,
        "SIGTERM",
        |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
    );
    let rt_exit = pos(t, text, RUNTIME, "exit", |k| {
        matches!(k, EventKind::Exited { .. })
    });
    let shutdown = pos(t, text, EXT, "SHUTDOWN", |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    let ext_exit = pos(t, text, EXT, "exit", |k| {
        matches!(k, EventKind::Exited { .. })
    });
    assert!(
        phase < sigterm && sigterm < rt_exit && rt_exit < shutdown && shutdown < ext_exit,
        "order:\n{text}"
    );
    assert_eq!(
        t.exit_of(EXT),
        Some((Some(0), None)),
        "the extension exits 0 by itself:\n{text}"
    );
    assert!(
        t.signals(EXT).is_empty(),
        "the extension is never killed:\n{text}"
    );
    let verdict_at = t
        .line_containing(graceful_shutdown_protocol::VERDICT_MARKER)
        .map(|l| l.at_ms)
        .unwrap_or(f64::MAX);
    assert!(
        t.events[shutdown].at_ms <= verdict_at,
        "the verdict comes after SHUTDOWN:\n{text}"
    );
}

fn assert_runtime_exited_itself(t: &Timeline, text: &str) {
    assert_eq!(
        t.signals(RUNTIME),
        vec!["SIGTERM"],
        "no SIGKILL needed:\n{text}"
    );
    assert_eq!(
        t.exit_of(RUNTIME),
        Some((Some(0), None)),
        "the library exits 0 after its handlers:\n{text}"
    );
}

// ---------------------------------------------------------------- the cases

#[test]
fn a_shutdown_only_layer_adds_no_event_to_invocations() {
    let _g = serial();
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.invocations(5));
    let t = &report.timeline;
    assert_eq!(report.invocations.len(), 5);
    assert!(t.find(EXT, |k| matches!(k, EventKind::Registered { events, internal: false } if events == &["SHUTDOWN"])).is_some(), "{text}");
    assert_eq!(
        t.of(EXT)
            .filter(|e| matches!(e.kind, EventKind::InvokeEvent { .. }))
            .count(),
        0,
        "{text}"
    );
    assert_eq!(field(&verdict(t, &text), "outcome"), "completed");
}

#[test]
fn a_runtime_exit_mid_invoke_is_a_failure_too() {
    let _g = serial();
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.event(r#"{"action":"exit","code":3}"#));
    let t = &report.timeline;
    assert_eq!(report.reason, ShutdownReason::Failure, "{text}");
    assert_eq!(
        report.invocations,
        vec![InvokeOutcome::RuntimeExited],
        "{text}"
    );
    assert!(t.find(PLATFORM, |k| matches!(k, EventKind::InvokeFailed { error_type, .. } if error_type == "Runtime.ExitError")).is_some(), "{text}");
    assert!(
        t.signals(RUNTIME).is_empty(),
        "a dead runtime gets no signal:\n{text}"
    );
    assert_eq!(t.exit_of(RUNTIME), Some((Some(3), None)), "{text}");
    assert_eq!(field(&verdict(t, &text), "reason"), "failure");
}

#[test]
fn the_sigkill_comes_at_the_end_of_the_runtimes_share_and_shutdown_after_it() {
    let _g = serial();
    let c = case("flush:ok");
    let mut s = c.scenario.env("PROBE_IGNORE_SIGTERM", "1");
    s.runtime_share = Duration::from_millis(
        graceful_shutdown_protocol::limits()
            .shutdown
            .runtime_share_ms,
    );
    let (report, text) = run(s);
    let t = &report.timeline;
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM", "SIGKILL"], "{text}");
    // The share counts from the start of the shutdown phase.
    let term = t
        .find(PLATFORM, |k| matches!(k, EventKind::ShutdownPhase { .. }))
        .map(|e| e.at_ms)
        .unwrap_or(0.0);
    let kill = t
        .find(
            RUNTIME,
            |k| matches!(k, EventKind::Signal { signal } if signal == "SIGKILL"),
        )
        .map(|e| e.at_ms)
        .unwrap_or(0.0);
    // Not before the share; how soon after it depends on the machine's load,
    // so the upper bound only says "not at the end of the phase".
    assert!(
        (295.0..1000.0).contains(&(kill - term)),
        "SIGKILL {} ms after the phase began, want after the 300 ms share and well before the phase's end:\n{text}",
        kill - term
    );
    let shutdown = pos(t, &text, EXT, "SHUTDOWN", |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    assert!(
        t.events[shutdown].at_ms >= kill,
        "SHUTDOWN only after the runtime is gone:\n{text}"
    );
}

#[test]
fn without_an_extension_the_timeline_says_why_the_runtime_got_no_sigterm() {
    let _g = serial();
    let c = case_with_layer("flush:ok", false);
    let (report, text) = run(c.scenario);
    assert!(report.lifecycle_ok(), "{text}");
    assert_eq!(report.timeline.signals(RUNTIME), vec!["SIGKILL"], "{text}");
    assert!(
        text.contains("no extension registered: Lambda kills the runtime without SIGTERM"),
        "{text}"
    );
}

#[test]
fn a_taken_port_fails_the_init_naming_the_variable() {
    let _g = serial();
    let c = case("flush:ok");
    let _holder = std::net::TcpListener::bind(("127.0.0.1", c.port)).expect("hold the port");
    let (report, text) = run(c.scenario);
    let t = &report.timeline;
    assert!(t.find(EXT, |k| matches!(k, EventKind::InitErrorReported { error_type } if error_type == "Extension.ListenFailed")).is_some(), "{text}");
    assert_eq!(
        t.init_failure().map(|f| f.0),
        Some("Extension.ListenFailed"),
        "{text}"
    );
    assert!(
        t.lines_of(EXT)
            .any(|l| l.contains(ENV_PORT) && l.contains("free port")),
        "the log names {ENV_PORT}:\n{text}"
    );
    assert!(
        t.find(PLATFORM, |k| matches!(k, EventKind::Invoke { .. }))
            .is_none(),
        "no invocation after a failed init:\n{text}"
    );
    assert!(t.verdict_line().is_none(), "{text}");
}

#[test]
fn a_bad_port_variable_is_an_init_error_naming_it() {
    let _g = serial();
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.env(ENV_PORT, "9001"));
    let t = &report.timeline;
    let (error_type, _) = t.init_failure().unwrap_or_else(|| panic!("{text}"));
    assert_eq!(error_type, "Extension.ConfigInvalid", "{text}");
    assert!(
        t.lines_of(EXT)
            .any(|l| l.contains(ENV_PORT) && l.contains("9001")),
        "{text}"
    );
    assert!(t.verdict_line().is_none());
}

#[test]
fn a_bad_timeout_variable_is_an_init_error_naming_it() {
    let _g = serial();
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.env(ENV_TIMEOUT_MS, "5000"));
    let t = &report.timeline;
    let (error_type, _) = t.init_failure().unwrap_or_else(|| panic!("{text}"));
    assert_eq!(error_type, "Extension.ConfigInvalid", "{text}");
    assert!(
        t.lines_of(EXT).any(|l| l.contains(ENV_TIMEOUT_MS)),
        "{text}"
    );
    assert!(t.verdict_line().is_none());
}

#[test]
fn a_500_on_register_fails_the_init_loudly() {
    let _g = serial();
    let c = case("flush:ok");
    let mut s = c.scenario;
    s.faults.register_status = Some(500);
    let (report, text) = run(s);
    let t = &report.timeline;
    assert!(
        t.find(EXT, |k| matches!(
            k,
            EventKind::RegisterRefused { status: 500, .. }
        ))
        .is_some(),
        "{text}"
    );
    assert!(
        t.lines_of(EXT)
            .any(|l| l.contains("registration failed") && l.contains("500")),
        "{text}"
    );
    assert_eq!(t.exit_of(EXT).and_then(|e| e.0), Some(1), "{text}");
    assert_eq!(
        t.init_failure().map(|f| f.0),
        Some("Extension.Crash"),
        "{text}"
    );
    assert!(t.verdict_line().is_none());
}

/// Sends raw HTTP to the extension's report port; returns the status code.
fn http(port: u16, request: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the report port");
    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
    s.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Runs init and one invoke, lets `attack` talk to the extension, then shuts down.
fn run_with_attack(c: Case, attack: impl FnOnce(u16) + Send + 'static) -> (Timeline, String) {
    let port = c.port;
    let t = rt().block_on(async move {
        // Not frozen while idle: the attack talks to the extension between phases.
        let scenario = c.scenario.freeze(graceful_shutdown_emulator::Freeze::Off);
        let mut em = Emulator::start(scenario).await.expect("start");
        em.init().await.expect("init");
        assert!(matches!(
            em.invoke(b"{}".to_vec()).await,
            InvokeOutcome::Response(_)
        ));
        tokio::task::spawn_blocking(move || attack(port))
            .await
            .expect("attack");
        em.shutdown(ShutdownReason::Spindown).await;
        em.finish().await
    });
    let text = render(&t);
    (t, text)
}

#[test]
fn a_forged_report_from_another_process_is_refused_and_changes_nothing() {
    let _g = serial();
    let c = case("flush:ok");
    let (t, text) = run_with_attack(c, |port| {
        let body =
            r#"{"type":"failed","handler":"flush","index":0,"durationMs":1,"error":"forged"}"#;
        let wrong = format!(
            "POST {REPORT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{SECRET_HEADER}: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            "0".repeat(64),
            body.len()
        );
        assert_eq!(http(port, &wrong), 401, "a wrong secret is refused");
        let missing = format!(
            "POST {REPORT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(http(port, &missing), 401, "no secret is refused");
    });
    assert!(
        t.lines_of(EXT)
            .filter(|l| l.contains("report refused"))
            .count()
            >= 2,
        "{text}"
    );
    let v = verdict(&t, &text);
    assert_eq!(
        field(&v, "outcome"),
        "completed",
        "the forged failure did not count: {v}"
    );
    assert!(!v.contains("forged"), "{v}");
}

#[test]
fn a_loopback_request_like_a_server_side_request_forgery_is_refused() {
    let _g = serial();
    let c = case("flush:ok");
    let (t, text) = run_with_attack(c, |port| {
        // What an SSRF controls: a URL. A GET with no headers, no body.
        let get = format!("GET {REPORT_PATH}?type=allDone HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        assert_eq!(http(port, &get), 405);
        let other = format!(
            "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(http(port, &other), 404);
    });
    assert!(
        t.lines_of(EXT)
            .filter(|l| l.contains("report refused"))
            .count()
            >= 2,
        "{text}"
    );
    assert_lambda_order(&t, &text);
    let v = verdict(&t, &text);
    assert_eq!(field(&v, "outcome"), "completed", "{v}");
}

#[test]
fn a_deadline_shorter_than_the_handlers_still_gets_a_verdict_before_it() {
    let _g = serial();
    // 600 ms of shutdown phase, handlers that want 2 s (budget 280 ms): the
    // runtime is killed at 150 ms, before its budget runs out, and the
    // extension has what is left of the 600 ms (less its 100 ms margin) to
    // judge and leave, with room for a loaded machine.
    let c = case("slow:sleep=2000");
    let mut s = c.scenario.env(ENV_TIMEOUT_MS, "280");
    s.shutdown_phase = Duration::from_millis(600);
    s.runtime_share = Duration::from_millis(150);
    let (report, text) = run(s);
    let t = &report.timeline;
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM", "SIGKILL"], "{text}");
    let EventKind::ShutdownPhase { deadline_ms, .. } = t
        .find(PLATFORM, |k| matches!(k, EventKind::ShutdownPhase { .. }))
        .map(|e| e.kind.clone())
        .expect(&text)
    else {
        unreachable!()
    };
    let EventKind::ShutdownEvent {
        deadline_ms: sent, ..
    } = t
        .find(EXT, |k| matches!(k, EventKind::ShutdownEvent { .. }))
        .map(|e| e.kind.clone())
        .expect(&text)
    else {
        unreachable!()
    };
    assert_eq!(
        sent, deadline_ms,
        "SHUTDOWN carries the phase's absolute deadline"
    );
    let v = verdict(t, &text);
    assert_eq!(field(&v, "outcome"), "runtime_killed", "{v}");
    assert_eq!(
        t.exit_of(EXT),
        Some((Some(0), None)),
        "the extension leaves before the deadline:\n{text}"
    );
    // No check that the emulator sent it no SIGKILL: on a loaded machine the
    // emulator may see the exit only after the deadline and send a signal
    // to a process already gone; the exit status above says it left by itself.
}

#[test]
fn an_upper_case_shutdown_reason_is_read_case_insensitively() {
    let _g = serial();
    let c = case("flush:ok");
    let mut s = c.scenario;
    s.faults.shutdown_reason = Some("SPINDOWN".to_owned());
    let (report, text) = run(s);
    let t = &report.timeline;
    assert!(
        t.find(
            EXT,
            |k| matches!(k, EventKind::ShutdownEvent { reason, .. } if reason == "SPINDOWN")
        )
        .is_some(),
        "{text}"
    );
    let v = verdict(t, &text);
    assert_eq!(field(&v, "reason"), "spindown", "{v}");
    assert_eq!(field(&v, "outcome"), "completed", "{v}");
}

#[test]
fn an_unknown_shutdown_reason_is_kept() {
    let _g = serial();
    let c = case("flush:ok");
    let mut s = c.scenario;
    s.faults.shutdown_reason = Some("Recycle".to_owned());
    let (report, text) = run(s);
    let t = &report.timeline;
    assert_lambda_order(t, &text);
    let v = verdict(t, &text);
    assert_eq!(field(&v, "reason"), "Recycle", "kept as sent: {v}");
    assert_eq!(field(&v, "outcome"), "completed", "{v}");
}

#[test]
fn two_extensions_in_the_layer_both_get_shutdown_after_the_runtime() {
    let _g = serial();
    let c = case("flush:ok");
    let staged = c
        .staged
        .extension("official-extension-fixture", &official_extension());
    let (report, text) = run(c.scenario.env("FIXTURE_EXIT_ON_SHUTDOWN", "1"));
    let t = &report.timeline;
    assert_lambda_order(t, &text);
    let rt_exit = pos(t, &text, RUNTIME, "exit", |k| {
        matches!(k, EventKind::Exited { .. })
    });
    let other = pos(t, &text, "official-extension-fixture", "SHUTDOWN", |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    assert!(rt_exit < other, "{text}");
    assert_eq!(
        t.exit_of("official-extension-fixture"),
        Some((Some(0), None)),
        "{text}"
    );
    assert_eq!(field(&verdict(t, &text), "outcome"), "completed");
    drop(staged);
}

#[test]
fn a_renamed_layer_file_registers_under_its_file_name_and_still_works() {
    let _g = serial();
    // The extension registers with its own file name, so renaming the file
    // keeps it external (a mismatch would make it internal: no SHUTDOWN).
    let c = case_with_layer("flush:ok", false);
    let staged = c.staged.extension("shutdown-layer", &extension_binary());
    let scenario = c.scenario.layer(staged.layer_dir());
    let (report, text) = run(scenario);
    let t = &report.timeline;
    assert!(
        t.find("shutdown-layer", |k| matches!(
            k,
            EventKind::Registered {
                internal: false,
                ..
            }
        ))
        .is_some(),
        "{text}"
    );
    assert!(
        t.find("shutdown-layer", |k| matches!(
            k,
            EventKind::ShutdownEvent { .. }
        ))
        .is_some(),
        "{text}"
    );
    assert_eq!(field(&verdict(t, &text), "outcome"), "completed");
}

#[test]
fn a_name_mismatch_beside_the_layer_fails_the_init_as_lambda_does() {
    let _g = serial();
    // A second extension registering under a name that matches no file is
    // internal; its SHUTDOWN subscription is refused with 403 and it exits.
    let c = case("flush:ok");
    let staged = c.staged.extension("telemetry", &official_extension());
    let (report, text) = run(c.scenario.env("FIXTURE_EXTENSION_NAME", "telemetry-agent"));
    let t = &report.timeline;
    assert!(
        t.find("telemetry-agent", |k| matches!(
            k,
            EventKind::RegisterRefused { status: 403, .. }
        ))
        .is_some(),
        "{text}"
    );
    assert_eq!(
        t.init_failure().map(|f| f.0),
        Some("Extension.Crash"),
        "{text}"
    );
    assert_eq!(report.reason, ShutdownReason::Failure);
    // The two extensions start together: the shutdown layer registers
    // before the other one fails the init, or, on a loaded machine, after.
    let registered = t.position(EXT, |k| matches!(k, EventKind::Registered { .. }));
    let phase = t.position(PLATFORM, |k| matches!(k, EventKind::ShutdownPhase { .. }));
    if matches!((registered, phase), (Some(r), Some(p)) if r < p) {
        // Registered: it still gets its SHUTDOWN and says nobody reported.
        assert_eq!(field(&verdict(t, &text), "reason"), "failure");
    } else {
        // Not registered yet: Lambda has nothing to send it, and kills it.
        assert_eq!(t.signals(EXT), vec!["SIGKILL"], "{text}");
    }
    drop(staged);
}

#[test]
fn concurrent_handlers_run_at_once() {
    let _g = serial();
    let c = case("a:sleep=120,b:sleep=120,c:sleep=120");
    let (report, text) = run(c.scenario.env("PROBE_CONCURRENT", "1"));
    let t = &report.timeline;
    assert_runtime_exited_itself(t, &text);
    let v = verdict(t, &text);
    assert_eq!(field(&v, "outcome"), "completed", "{v}");
    let total: u64 = field(&v, "total_ms").parse().expect("total_ms");
    assert!(
        total < 360,
        "three 120 ms handlers at once take ~120 ms, not the 360 ms of one after another: {v}"
    );
}

#[test]
fn without_the_library_sigterm_kills_the_function_and_nothing_reports() {
    let _g = serial();
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.env("PROBE_NO_LIBRARY", "1"));
    let t = &report.timeline;
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM"], "{text}");
    assert_eq!(
        t.exit_of(RUNTIME),
        Some((None, Some("SIGTERM".to_owned()))),
        "{text}"
    );
    assert_lambda_order(t, &text);
    assert_eq!(field(&verdict(t, &text), "outcome"), "no_report");
}

#[test]
fn json_logs_carry_the_verdict_as_one_object() {
    let _g = serial();
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.env("AWS_LAMBDA_LOG_FORMAT", "JSON"));
    let t = &report.timeline;
    let line = verdict(t, &text);
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["message"], "graceful-shutdown verdict");
    assert_eq!(v["outcome"], "completed");
    assert_eq!(v["reason"], "spindown");
}

#[test]
fn on_lambda_managed_instances_the_shutdown_only_layer_works_unchanged() {
    let _g = serial();
    const LMI: (&str, &str) = ("AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances");
    let c = case("flush:ok");
    let (report, text) = run(c.scenario.env(LMI.0, LMI.1));
    let t = &report.timeline;
    assert!(report.lifecycle_ok(), "{text}");
    assert_lambda_order(t, &text);
    assert_eq!(field(&verdict(t, &text), "outcome"), "completed");

    // There, external extensions may subscribe to SHUTDOWN only: INVOKE is refused.
    let c = case("flush:ok");
    let staged = c
        .staged
        .extension("official-extension-fixture", &official_extension());
    let (report, text) = run(c
        .scenario
        .env(LMI.0, LMI.1)
        .env("FIXTURE_EVENTS", "INVOKE,SHUTDOWN"));
    let t = &report.timeline;
    let refused = t.find("official-extension-fixture", |k| {
        matches!(k, EventKind::RegisterRefused { status: 403, error_type, .. } if error_type == "Extension.InvalidEventType")
    });
    assert!(refused.is_some(), "{text}");
    assert_eq!(
        t.init_failure().map(|f| f.0),
        Some("Extension.Crash"),
        "{text}"
    );
    drop(staged);
}
