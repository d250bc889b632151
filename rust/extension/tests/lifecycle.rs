//! The real `graceful-shutdown` binary against a loopback fake of the Lambda
//! Extensions API: registration, reports, the verdict, bad settings, API
//! failures and deadlines.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::fixtures::{
    all_done, failed, finished, hello, sigterm, started, timed_out,
};
use graceful_shutdown_protocol::Report;
use serde_json::Value;
use support::{now_ms, status_of, Next, Options, Reply, Run};

const EXIT_WAIT: Duration = Duration::from_secs(10);

/// Start, send `reports` (all must be accepted), shut down, return the exit.
fn run_with_reports(env: &[(&str, &str)], reports: &[Report], reason: &str) -> support::Exit {
    let mut run = Run::start(Options {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Options::default()
    });
    run.registered();
    for r in reports {
        assert_eq!(
            run.report(r),
            202,
            "report {r:?} refused; stdout:\n{}",
            run.stdout()
        );
    }
    run.waiting_for_events();
    run.shutdown(reason, now_ms() + 1500);
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(0), "stdout:\n{}", exit.stdout);
    exit
}

#[test]
fn registers_for_shutdown_only_with_exact_headers_after_binding_and_writing_the_secret() {
    let mut run = Run::start(Options::default());
    let reg = run.registered();
    assert_eq!(reg.method, "POST");
    assert_eq!(reg.path, "/2020-01-01/extension/register");
    assert_eq!(reg.body, r#"{"events":["SHUTDOWN"]}"#);
    assert_eq!(
        reg.header("lambda-extension-name"),
        Some("graceful-shutdown")
    );
    assert_eq!(
        reg.header("lambda-extension-accept-feature"),
        Some("accountId")
    );
    assert_eq!(reg.header("content-type"), Some("application/json"));
    assert_eq!(reg.header("content-length"), Some("23"));
    assert!(
        reg.port_open,
        "the report port must be open before /register"
    );
    let (secret, mode) = reg
        .secret_file
        .clone()
        .expect("the secret file must exist before /register");
    assert_eq!(mode, 0o600);
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));

    run.waiting_for_events();
    let next = run
        .api
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/event/next"))
        .expect("next");
    assert_eq!(next.method, "GET");
    assert_eq!(
        next.header("lambda-extension-identifier"),
        Some("ext-id-42")
    );
    assert!(
        run.stdout_contains("graceful-shutdown INFO: registered", EXIT_WAIT),
        "{}",
        run.stdout()
    );

    run.shutdown("spindown", now_ms() + 1500);
    let secret_file = run.secret_file.clone();
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(0));
    assert!(
        !secret_file.exists(),
        "the secret file is removed at the end"
    );
}

#[test]
fn verdict_all_handlers_completed() {
    let exit = run_with_reports(
        &[],
        &[
            hello(&["flush", "close-pool"]),
            sigterm(),
            started("flush", 0),
            finished("flush", 0, 10),
            started("close-pool", 1),
            finished("close-pool", 1, 3),
            all_done(2, 0, 0, 13),
        ],
        "spindown",
    );
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=completed reason=spindown handlers=2/2 total_ms=13 \
         flush=ok(10ms) close-pool=ok(3ms) -- all 2 shutdown handlers completed in 13 ms"
    );
}

#[test]
fn verdict_names_failed_and_timed_out_handlers() {
    let exit = run_with_reports(
        &[],
        &[
            hello(&["a", "b", "c"]),
            sigterm(),
            finished("a", 0, 1),
            failed("b", 1, 2, "panicked: boom"),
            timed_out("c", 2, 250),
            all_done(1, 1, 1, 253),
        ],
        "TIMEOUT",
    );
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=handlers_failed reason=timeout handlers=1/3 total_ms=253 \
         a=ok(1ms) b=failed(2ms) c=timed_out(250ms) -- 1 of 3 shutdown handlers completed; b failed, c timed_out"
    );
}

#[test]
fn verdict_runtime_killed_says_how_far_it_got() {
    let exit = run_with_reports(
        &[],
        &[
            hello(&["a", "b", "c"]),
            sigterm(),
            finished("a", 0, 1),
            started("b", 1),
        ],
        "spindown",
    );
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=runtime_killed reason=spindown handlers=1/3 a=ok(1ms) b=running \
         c=not_started -- the runtime was gone before its shutdown handlers finished: 1 of 3 completed, cut off while running b"
    );
}

#[test]
fn verdict_no_report_when_the_function_never_spoke() {
    let exit = run_with_reports(&[], &[], "failure");
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=no_report reason=failure handlers=0/0 -- no function ever reported: \
         the function library is not in use, or the function died before reporting"
    );
}

#[test]
fn json_log_format_and_emf_metric_line() {
    let exit = run_with_reports(
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("GRACEFUL_SHUTDOWN_METRICS", "emf"),
        ],
        &[
            hello(&["flush"]),
            sigterm(),
            finished("flush", 0, 4),
            all_done(1, 0, 0, 4),
        ],
        "Spindown",
    );
    let lines: Vec<Value> = exit
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let verdicts: Vec<&Value> = lines
        .iter()
        .filter(|v| v["message"] == "graceful-shutdown verdict")
        .collect();
    assert_eq!(verdicts.len(), 1, "{}", exit.stdout);
    let v = verdicts[0];
    assert_eq!(v["outcome"], "completed");
    assert_eq!(v["reason"], "spindown");
    assert_eq!(v["totalMs"], 4);
    assert_eq!(v["signal"], "SIGTERM");
    assert_eq!(v["handlers"][0]["name"], "flush");
    assert_eq!(v["level"], "INFO");
    let emf: Vec<&Value> = lines.iter().filter(|v| v.get("_aws").is_some()).collect();
    assert_eq!(emf.len(), 1, "{}", exit.stdout);
    assert_eq!(emf[0]["FunctionName"], "orders");
    assert_eq!(emf[0]["ShutdownCompleted"], 1);
    assert_eq!(
        emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "GracefulShutdown"
    );
}

#[test]
fn no_emf_line_by_default() {
    let exit = run_with_reports(&[], &[], "spindown");
    assert!(!exit.stdout.contains("\"_aws\""), "{}", exit.stdout);
}

fn bad_config(var: &str, value: &str) {
    let run = Run::start(Options {
        env: vec![(var.to_string(), value.to_string())],
        wait_for_shutdown: false,
        ..Options::default()
    });
    let (error_type, message) = run.init_error();
    assert_eq!(error_type, "Extension.ConfigInvalid", "{var}={value:?}");
    let message = message.as_str();
    assert!(
        message.starts_with(&format!("{var}: expected ")),
        "{message}"
    );
    assert!(message.contains(&format!("{value:?}")), "{message}");
    let exit = run.exit(EXIT_WAIT);
    assert_ne!(
        exit.status.code(),
        Some(0),
        "a bad setting must fail the init"
    );
    assert!(
        exit.stdout.contains(var),
        "the error is logged too:\n{}",
        exit.stdout
    );
}

#[test]
fn bad_port_is_an_init_error_naming_the_variable() {
    bad_config("GRACEFUL_SHUTDOWN_PORT", "not-a-port");
    bad_config("GRACEFUL_SHUTDOWN_PORT", "9001");
    bad_config("GRACEFUL_SHUTDOWN_PORT", "70000");
}

#[test]
fn bad_timeout_is_an_init_error_naming_the_variable() {
    bad_config("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "soon");
    bad_config("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "301");
    bad_config("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "0");
}

#[test]
fn bad_metrics_switch_is_an_init_error() {
    bad_config("GRACEFUL_SHUTDOWN_METRICS", "cloudwatch");
}

#[test]
fn port_in_use_is_an_init_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let run = Run::start(Options {
        env: vec![("GRACEFUL_SHUTDOWN_PORT".into(), port.to_string())],
        wait_for_shutdown: false,
        ..Options::default()
    });
    let (error_type, message) = run.init_error();
    assert_eq!(error_type, "Extension.ListenFailed");
    assert!(
        message.starts_with("GRACEFUL_SHUTDOWN_PORT: cannot listen"),
        "{message}"
    );
    assert_ne!(run.exit(EXIT_WAIT).status.code(), Some(0));
}

#[test]
fn exits_zero_before_a_short_deadline_even_when_a_connection_hangs() {
    let mut run = Run::start(Options::default());
    run.registered();
    assert_eq!(run.report(&hello(&["slow"])), 202);
    assert_eq!(run.report(&sigterm()), 202);
    assert_eq!(run.report(&started("slow", 0)), 202);
    run.waiting_for_events();
    // A peer that sends half a request and then nothing: the drain at
    // SHUTDOWN waits for it (the listener gives it 300 ms), never past the
    // exit time (the deadline less 100 ms).
    let mut hanging = TcpStream::connect(("127.0.0.1", run.port)).expect("connect");
    hanging
        .write_all(b"POST /v1/report HTTP/1.1\r\n")
        .expect("write");
    // Short, yet with room for a loaded machine: the property is "before
    // the deadline", not how much before (the bench measures that).
    let deadline_in = Duration::from_millis(1000);
    let deadline = now_ms() + 1000;
    let sent = Instant::now();
    run.shutdown("spindown", deadline);
    let exit = run.exit(EXIT_WAIT);
    let took = exit.at.duration_since(sent);
    assert_eq!(exit.status.code(), Some(0), "{}", exit.stdout);
    // `sent` was taken after `deadline` was computed: exiting within `deadline_in` of it is exiting before the deadline.
    assert!(
        took < deadline_in,
        "exited {took:?} after SHUTDOWN, the deadline was {deadline_in:?} away"
    );
    assert!(
        exit.verdict_line().contains("outcome=runtime_killed"),
        "{}",
        exit.stdout
    );
    drop(hanging);
}

#[test]
fn exits_zero_at_once_when_the_deadline_is_already_past() {
    for deadline in [0, now_ms().saturating_sub(5_000)] {
        let mut run = Run::start(Options::default());
        run.registered();
        run.waiting_for_events();
        let sent = Instant::now();
        run.shutdown("timeout", deadline);
        let exit = run.exit(EXIT_WAIT);
        assert_eq!(exit.status.code(), Some(0));
        // At once: not after the drain's own wait (1 s) nor the phase (2 s).
        assert!(
            exit.at.duration_since(sent) < Duration::from_millis(1000),
            "{:?}",
            exit.at.duration_since(sent)
        );
        assert!(
            exit.verdict_line()
                .contains("outcome=no_report reason=timeout"),
            "{}",
            exit.stdout
        );
    }
}

#[test]
fn forged_and_broken_reports_are_refused_and_the_extension_keeps_working() {
    let mut run = Run::start(Options::default());
    run.registered();
    let secret = run.secret();
    let good = |report: &Report| {
        graceful_shutdown_protocol::wire::encode_request(run.port, &secret, report)
    };
    let hello_req = good(&hello(&["flush"]));

    let wrong_secret = hello_req.replace(&secret, &"0".repeat(64));
    let no_secret = hello_req.replace(&format!("x-graceful-shutdown-secret: {secret}\r\n"), "");
    let get = hello_req.replacen("POST", "GET", 1);
    let other_path = hello_req.replacen("/v1/report", "/shutdown", 1);
    let text = hello_req.replace("application/json", "text/plain");
    let big_body = format!("{{\"type\":\"hello\",\"pad\":\"{}\"}}", "x".repeat(5000));
    let oversized = format!(
        "POST /v1/report HTTP/1.1\r\nContent-Type: application/json\r\nx-graceful-shutdown-secret: {secret}\r\n\
         Content-Length: {}\r\n\r\n{big_body}",
        big_body.len()
    );
    let not_json = hello_req.replacen("{\"type\"", "[\"type\"", 1);
    let truncated = &hello_req[..hello_req.len() - 10];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("wrong secret", wrong_secret.into_bytes(), 401),
        ("missing secret", no_secret.into_bytes(), 401),
        ("wrong method", get.into_bytes(), 405),
        (
            "wrong path (the trap's /shutdown)",
            other_path.into_bytes(),
            404,
        ),
        ("wrong content type", text.into_bytes(), 415),
        ("oversized body", oversized.into_bytes(), 413),
        ("body not a report", not_json.into_bytes(), 400),
        ("truncated body", truncated.as_bytes().to_vec(), 400),
        (
            "garbage bytes",
            vec![0xde, 0xad, 0xbe, 0xef, b'\r', b'\n', b'\r', b'\n', 0, 1, 2],
            400,
        ),
        (
            "TLS hello",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03".to_vec(),
            400,
        ),
        ("empty connection", Vec::new(), 400),
    ];
    for (what, bytes, want) in &cases {
        let answer = run.send_raw(bytes);
        assert_eq!(status_of(&answer), *want, "{what}: {answer}");
    }
    // Still alive and still counting real reports.
    assert_eq!(run.report(&hello(&["flush"])), 202);
    assert_eq!(run.report(&sigterm()), 202);
    assert_eq!(run.report(&finished("flush", 0, 2)), 202);
    assert_eq!(run.report(&all_done(1, 0, 0, 2)), 202);
    run.waiting_for_events();
    run.shutdown("spindown", now_ms() + 1500);
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(0));
    assert!(
        exit.verdict_line()
            .contains("outcome=completed reason=spindown handlers=1/1"),
        "{}",
        exit.stdout
    );
    let refusals = exit.lines_containing("report refused");
    // One more: the fake API's check, at /register, that the port was open (connect, close).
    assert_eq!(
        refusals.len(),
        cases.len() + 1,
        "every refusal is logged once:\n{}",
        exit.stdout
    );
    assert!(refusals
        .iter()
        .any(|l| l.contains("status=401") && l.contains("wrong x-graceful-shutdown-secret")));
    assert!(refusals.iter().any(|l| l.contains("status=413")));
    assert!(!exit.stdout.contains(&secret), "the secret is never logged");
}

#[test]
fn register_failure_is_logged_and_exits_non_zero() {
    for (reply, expect) in [(Reply::status(500), "status 500"), (Reply::Close, "closed")] {
        let run = Run::start(Options {
            register: reply,
            wait_for_shutdown: false,
            ..Options::default()
        });
        let exit = run.exit(EXIT_WAIT);
        assert_eq!(exit.status.code(), Some(1), "{}", exit.stdout);
        let line = exit.lines_containing("registration failed");
        assert_eq!(line.len(), 1, "{}", exit.stdout);
        assert!(line[0].contains(expect), "{}", line[0]);
    }
}

#[test]
fn register_without_identifier_is_a_failure() {
    let run = Run::start(Options {
        register: Reply::ok_json("{}"),
        wait_for_shutdown: false,
        ..Options::default()
    });
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(1));
    assert!(
        exit.stdout.contains("Lambda-Extension-Identifier"),
        "{}",
        exit.stdout
    );
}

#[test]
fn event_next_failure_sends_exit_error_then_exits() {
    for (reply, expect) in [
        (Reply::status(500), "status 500"),
        (Reply::Close, "closed"),
        (Reply::ok_json("{\"eventType\":\"SHUTDOWN\""), "eventType"),
    ] {
        let run = Run::start(Options {
            next_before: vec![Next::Now(reply)],
            wait_for_shutdown: false,
            ..Options::default()
        });
        let exit = run.exit(EXIT_WAIT);
        assert_eq!(exit.status.code(), Some(1), "{}", exit.stdout);
        let err = exit
            .request("/2020-01-01/extension/exit/error")
            .unwrap_or_else(|| panic!("no /exit/error after {expect}; stdout:\n{}", exit.stdout));
        assert_eq!(err.method, "POST");
        assert_eq!(err.header("lambda-extension-identifier"), Some("ext-id-42"));
        assert_eq!(
            err.header("lambda-extension-function-error-type"),
            Some("Extension.NextEventFailed")
        );
        let body: Value = serde_json::from_str(&err.body).expect("json");
        assert!(
            body["errorMessage"].as_str().unwrap_or("").contains(expect),
            "{body}"
        );
        assert!(exit.stdout.contains(expect), "{expect}: {}", exit.stdout);
        assert!(exit.request("/2020-01-01/extension/init/error").is_none());
    }
}

#[test]
fn unknown_events_are_skipped_and_reason_case_does_not_matter() {
    let mut run = Run::start(Options {
        next_before: vec![
            Next::Now(Reply::ok_json(r#"{"eventType":"RESTORE","x":1}"#)),
            Next::Now(Reply::ok_json(
                r#"{"eventType":"INVOKE","requestId":"r1","deadlineMs":1}"#,
            )),
        ],
        ..Options::default()
    });
    run.registered();
    // Both scripted events answered: the extension is waiting for the third.
    run.waiting_for_event(3);
    run.shutdown("SpinDown", now_ms() + 1500);
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(0));
    assert!(
        exit.verdict_line().contains("reason=spindown"),
        "{}",
        exit.stdout
    );
    assert!(
        exit.stdout
            .contains("ignoring an unknown event eventType=RESTORE"),
        "{}",
        exit.stdout
    );
}

#[test]
fn unknown_reasons_are_kept_as_sent() {
    let exit = run_with_reports(&[], &[], "Sandbox_Terminated");
    assert!(
        exit.verdict_line().contains(" reason=Sandbox_Terminated "),
        "{}",
        exit.stdout
    );
}

#[test]
fn a_silent_or_trickling_connection_does_not_hold_back_the_reports() {
    let mut run = Run::start(Options::default());
    run.registered();
    // One peer connects and sends nothing; another sends a request one byte at a time.
    let mut silent = TcpStream::connect(("127.0.0.1", run.port)).expect("connect");
    let mut trickling = TcpStream::connect(("127.0.0.1", run.port)).expect("connect");
    trickling.write_all(b"P").expect("write");
    // A real report gets its answer while both are still open, unanswered:
    // it did not wait for them to send a request or to be cut off.
    assert_eq!(run.report(&hello(&["flush"])), 202);
    let _ = trickling.write_all(b"O");
    for (what, stream) in [("silent", &mut silent), ("trickling", &mut trickling)] {
        stream.set_nonblocking(true).expect("nonblocking");
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => {
                panic!("the {what} connection was answered or closed before the report: {other:?}")
            }
        }
    }
    for report in [
        sigterm(),
        started("flush", 0),
        finished("flush", 0, 2),
        all_done(1, 0, 0, 2),
    ] {
        assert_eq!(run.report(&report), 202);
    }
    run.waiting_for_events();
    run.shutdown("spindown", now_ms() + 1500);
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(0));
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1 total_ms=2 \
         flush=ok(2ms) -- all 1 shutdown handlers completed in 2 ms"
    );
    // Both peers were cut off at their deadline and refused.
    assert!(
        exit.lines_containing("report refused").len() >= 2,
        "{}",
        exit.stdout
    );
}

#[test]
fn a_malformed_shutdown_after_reports_logs_the_verdict_then_exit_error() {
    let mut run = Run::start(Options::default());
    run.registered();
    for report in [
        hello(&["flush", "close-pool"]),
        sigterm(),
        started("flush", 0),
        finished("flush", 0, 3),
    ] {
        assert_eq!(run.report(&report), 202);
    }
    run.waiting_for_events();
    run.reply_next(Reply::ok_json(
        r#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":"#,
    ));
    let exit = run.exit(EXIT_WAIT);
    assert_eq!(exit.status.code(), Some(1), "{}", exit.stdout);
    let err = exit
        .request("/2020-01-01/extension/exit/error")
        .unwrap_or_else(|| panic!("no /exit/error; stdout:\n{}", exit.stdout));
    assert_eq!(
        err.header("lambda-extension-function-error-type"),
        Some("Extension.NextEventFailed")
    );
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=runtime_killed reason=unknown handlers=1/2 flush=ok(3ms) \
         close-pool=not_started -- the runtime was gone before its shutdown handlers finished: 1 of 2 completed"
    );
    // The verdict comes first, then the error.
    let lines: Vec<&str> = exit.stdout.lines().collect();
    let verdict_at = lines
        .iter()
        .position(|l| l.contains("graceful-shutdown verdict"));
    let error_at = lines
        .iter()
        .position(|l| l.contains("Extension.NextEventFailed"));
    assert!(
        matches!((verdict_at, error_at), (Some(v), Some(e)) if v < e),
        "{}",
        exit.stdout
    );
}

#[test]
fn a_setting_that_is_not_utf8_is_an_init_error_naming_the_variable() {
    let run = Run::start(Options {
        env_bytes: vec![("GRACEFUL_SHUTDOWN_TIMEOUT_MS".into(), vec![b'2', 0xff])],
        wait_for_shutdown: false,
        ..Options::default()
    });
    let (error_type, message) = run.init_error();
    assert_eq!(error_type, "Extension.ConfigInvalid");
    assert_eq!(
        message,
        "GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected UTF-8 text, got \"2\u{fffd}\""
    );
    assert_eq!(run.exit(EXIT_WAIT).status.code(), Some(1));
}

#[test]
fn the_answer_to_a_report_is_http() {
    let run = Run::start(Options::default());
    run.registered();
    let req = graceful_shutdown_protocol::wire::encode_request(run.port, &run.secret(), &sigterm());
    let mut s = TcpStream::connect(("127.0.0.1", run.port)).expect("connect");
    s.write_all(req.as_bytes()).expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 202 Accepted\r\n"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
}

#[test]
fn unwritable_secret_file_is_an_init_error_naming_the_variable() {
    let run = Run::start(Options {
        env: vec![(
            "GRACEFUL_SHUTDOWN_SECRET_FILE".into(),
            "/nonexistent-dir/graceful-shutdown.secret".into(),
        )],
        wait_for_shutdown: false,
        ..Options::default()
    });
    let (error_type, message) = run.init_error();
    assert_eq!(error_type, "Extension.SecretFileFailed");
    assert!(
        message.starts_with("GRACEFUL_SHUTDOWN_SECRET_FILE: ")
            && message.contains("/nonexistent-dir/graceful-shutdown.secret"),
        "{message}"
    );
    assert_eq!(run.exit(EXIT_WAIT).status.code(), Some(1));
}
