//! Fidelity: a function on the official `lambda_runtime` crate and an
//! extension on the official `lambda-extension` crate, both unmodified, run
//! through the emulator's whole lifecycle.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{lambda_emulator, official_extension, official_function, rt, serial, Staged};
use graceful_shutdown_emulator::{
    Emulator, EventKind, InvokeOutcome, Scenario, ShutdownReason, Timeline, PLATFORM, RUNTIME,
};

const EXT: &str = "official-extension-fixture";

fn staged_with_extension() -> Staged {
    Staged::new()
        .bootstrap(&official_function())
        .extension(EXT, &official_extension())
}

fn pos(t: &Timeline, source: &str, what: &str, pred: impl Fn(&EventKind) -> bool) -> usize {
    t.position(source, pred).unwrap_or_else(|| {
        panic!(
            "no {what} event from {source}:\n{}",
            graceful_shutdown_emulator::render(t)
        )
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[test]
fn official_crates_run_through_init_invokes_and_shutdown_in_lambdas_order() {
    let _g = serial();
    let staged = staged_with_extension();
    let scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("FIXTURE_EVENTS", "INVOKE,SHUTDOWN")
        .env("FIXTURE_EXIT_ON_SHUTDOWN", "1")
        .event(r#"{"hello":"world"}"#)
        .invocations(2);
    let before = now_ms();
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    assert_eq!(report.reason, ShutdownReason::Spindown);

    // Init: extension started and registered before the runtime started.
    let ext_started = pos(t, EXT, "started", |k| {
        matches!(k, EventKind::Started { .. })
    });
    let ext_registered = pos(
        t,
        EXT,
        "registered",
        |k| matches!(k, EventKind::Registered { events, internal: false } if events == &["INVOKE", "SHUTDOWN"]),
    );
    let rt_started = pos(t, RUNTIME, "started", |k| {
        matches!(k, EventKind::Started { .. })
    });
    let rt_ready = pos(t, RUNTIME, "ready", |k| {
        matches!(k, EventKind::RuntimeReady)
    });
    let ext_ready = pos(t, EXT, "ready", |k| matches!(k, EventKind::ExtensionReady));
    let init_done = pos(t, PLATFORM, "init done", |k| {
        matches!(k, EventKind::InitDone { .. })
    });
    assert!(
        ext_started < ext_registered && ext_registered < rt_started,
        "{text}"
    );
    assert!(rt_ready < init_done && ext_ready < init_done, "{text}");

    // Invocations: each one reaches the INVOKE-subscribed extension and gets a response.
    let invokes: Vec<_> = t
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Invoke { .. }))
        .collect();
    assert_eq!(invokes.len(), 2, "{text}");
    assert_eq!(
        t.of(EXT)
            .filter(|e| matches!(e.kind, EventKind::InvokeEvent { .. }))
            .count(),
        2,
        "{text}"
    );
    assert_eq!(
        t.of(RUNTIME)
            .filter(|e| matches!(e.kind, EventKind::Response { .. }))
            .count(),
        2,
        "{text}"
    );
    let InvokeOutcome::Response(body) = &report.invocations[0] else {
        panic!("{:?}", report.invocations)
    };
    let body: serde_json::Value = serde_json::from_slice(body).expect("json response");
    assert_eq!(body["echo"]["hello"], "world");
    assert_eq!(body["functionName"], "emulated-function");
    assert_eq!(body["handler"], "bootstrap", "the runtime gets _HANDLER");
    assert!(
        body["taskRoot"]
            .as_str()
            .is_some_and(|r| r.ends_with("/fn")),
        "the runtime gets LAMBDA_TASK_ROOT"
    );
    assert!(
        t.lines_of(EXT)
            .any(|l| l == "fixture-extension: runtime-only variables seen: []"),
        "extensions must not get _HANDLER, LAMBDA_TASK_ROOT, AWS_EXECUTION_ENV:\n{text}"
    );

    // Shutdown: SIGTERM to the runtime, its exit, then SHUTDOWN to the extension, which exits 0.
    let phase = pos(t, PLATFORM, "shutdown phase", |k| {
        matches!(k, EventKind::ShutdownPhase { .. })
    });
    let sigterm = pos(
        t,
        RUNTIME,
        "SIGTERM",
        |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
    );
    let rt_exit = pos(t, RUNTIME, "exit", |k| {
        matches!(k, EventKind::Exited { .. })
    });
    let shutdown = pos(t, EXT, "SHUTDOWN", |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    let ext_exit = pos(t, EXT, "exit", |k| matches!(k, EventKind::Exited { .. }));
    assert!(
        phase < sigterm && sigterm < rt_exit && rt_exit < shutdown && shutdown < ext_exit,
        "{text}"
    );
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM"], "{text}");
    assert_eq!(t.exit_of(EXT), Some((Some(0), None)), "{text}");
    assert!(
        t.signals(EXT).is_empty(),
        "an extension that exits by itself is not killed:\n{text}"
    );

    // deadlineMs is absolute epoch milliseconds, about 2 s after the phase began, and the extension saw it.
    let EventKind::ShutdownEvent {
        reason,
        deadline_ms,
    } = &t.events[shutdown].kind
    else {
        unreachable!()
    };
    assert_eq!(reason, "spindown");
    assert!(
        *deadline_ms >= before + 2000 && *deadline_ms <= now_ms() + 2000,
        "deadlineMs {deadline_ms} is not epoch ms"
    );
    let seen = format!("fixture-extension: SHUTDOWN reason=spindown deadlineMs={deadline_ms}");
    assert!(t.lines_of(EXT).any(|l| l == seen), "{text}");
}

#[test]
fn a_shutdown_only_extension_hears_no_invokes_and_is_killed_at_the_deadline_if_it_stays() {
    let _g = serial();
    let staged = staged_with_extension();
    let mut scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .invocations(3);
    scenario.shutdown_phase = Duration::from_millis(600);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    assert_eq!(
        t.of(EXT)
            .filter(|e| matches!(e.kind, EventKind::InvokeEvent { .. }))
            .count(),
        0,
        "{text}"
    );
    // The official crate calls /event/next again after SHUTDOWN, which blocks: SIGKILL at the deadline.
    let shutdown = t
        .find(EXT, |k| matches!(k, EventKind::ShutdownEvent { .. }))
        .expect(&text);
    let kill = t
        .find(
            EXT,
            |k| matches!(k, EventKind::Signal { signal } if signal == "SIGKILL"),
        )
        .expect(&text);
    let phase = t
        .find(PLATFORM, |k| matches!(k, EventKind::ShutdownPhase { .. }))
        .expect(&text);
    let waited = kill.at_ms - phase.at_ms;
    assert!(
        (590.0..1000.0).contains(&waited),
        "SIGKILL {waited} ms after the phase began, want ~600:\n{text}"
    );
    assert!(shutdown.at_ms < kill.at_ms);
    assert_eq!(
        t.exit_of(EXT),
        Some((None, Some("SIGKILL".to_owned()))),
        "{text}"
    );
}

#[test]
fn without_extensions_the_runtime_is_killed_without_sigterm() {
    let _g = serial();
    let staged = Staged::new().bootstrap(&official_function());
    let scenario = Scenario::new(staged.function_dir());
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    assert_eq!(t.signals(RUNTIME), vec!["SIGKILL"], "{text}");
    assert_eq!(
        t.exit_of(RUNTIME),
        Some((None, Some("SIGKILL".to_owned()))),
        "{text}"
    );
    assert!(text.contains("no extension registered"), "{text}");
}

#[test]
fn an_invoke_timeout_ends_in_a_timeout_shutdown() {
    let _g = serial();
    let staged = staged_with_extension();
    let mut scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("FIXTURE_EXIT_ON_SHUTDOWN", "1")
        .event(r#"{"sleepMs":5000}"#)
        .event("{}");
    scenario.timeout = Duration::from_millis(300);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert_eq!(
        report.invocations,
        vec![InvokeOutcome::Timeout],
        "the second invoke is not sent:\n{text}"
    );
    assert_eq!(report.reason, ShutdownReason::Timeout);
    assert!(
        t.find(PLATFORM, |k| matches!(
            k,
            EventKind::InvokeTimeout {
                timeout_ms: 300,
                ..
            }
        ))
        .is_some(),
        "{text}"
    );
    assert!(
        t.lines_of(EXT)
            .any(|l| l.starts_with("fixture-extension: SHUTDOWN reason=timeout ")),
        "{text}"
    );
    // The runtime was stuck in the handler: SIGTERM, and the official crate does not trap it.
    assert_eq!(t.signals(RUNTIME)[0], "SIGTERM", "{text}");
}

#[test]
fn a_function_error_is_an_answer_not_a_crash() {
    let _g = serial();
    let staged = Staged::new().bootstrap(&official_function());
    let scenario = Scenario::new(staged.function_dir())
        .event(r#"{"fail":true}"#)
        .event("{}");
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let text = graceful_shutdown_emulator::render(&report.timeline);
    assert!(
        matches!(report.invocations[0], InvokeOutcome::FunctionError(_)),
        "{text}"
    );
    assert!(
        matches!(report.invocations[1], InvokeOutcome::Response(_)),
        "{text}"
    );
    assert_eq!(report.reason, ShutdownReason::Spindown);
}

#[test]
fn a_name_that_matches_no_file_is_internal_and_shutdown_is_refused_with_403() {
    let _g = serial();
    // The file is official-extension-fixture; it registers as another name.
    let staged = staged_with_extension();
    let scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("FIXTURE_EXTENSION_NAME", "my-extension");
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    let refused = t
        .find("my-extension", |k| {
            matches!(k, EventKind::RegisterRefused { status: 403, .. })
        })
        .unwrap_or_else(|| panic!("no 403 for the internal extension:\n{text}"));
    assert!(
        matches!(&refused.kind, EventKind::RegisterRefused { message, .. } if message.contains("ShutdownEventNotSupportedForInternalExtension"))
    );
    let (error_type, _) = t
        .init_failure()
        .unwrap_or_else(|| panic!("init should fail:\n{text}"));
    assert_eq!(error_type, "Extension.Crash", "{text}");
    assert!(
        t.position(RUNTIME, |k| matches!(k, EventKind::Started { .. }))
            .is_none(),
        "the runtime never starts:\n{text}"
    );
}

#[test]
fn an_extension_that_never_registers_hits_the_init_cap() {
    let _g = serial();
    let staged = Staged::new()
        .bootstrap(&official_function())
        .script_extension("silent", "#!/bin/sh\nexec sleep 30\n");
    let mut scenario = Scenario::new(staged.function_dir()).layer(staged.layer_dir());
    scenario.init_cap = Duration::from_millis(400);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    let (error_type, message) = t.init_failure().unwrap_or_else(|| panic!("{text}"));
    assert_eq!(error_type, "Runtime.InitTimeout");
    assert!(message.contains("400 ms"), "{message}");
    // It never registered, so it gets no SHUTDOWN: it is killed.
    assert_eq!(t.signals("silent"), vec!["SIGKILL"], "{text}");
    assert_eq!(report.reason, ShutdownReason::Failure);
}

#[test]
fn a_zipped_layer_works_like_a_directory() {
    let _g = serial();
    let staged = Staged::new().bootstrap(&official_function());
    let zip_path = staged.file("layer.zip");
    {
        use std::io::Write;
        let file = std::fs::File::create(&zip_path).expect("zip file");
        let mut zip = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        zip.start_file(format!("extensions/{EXT}"), opts)
            .expect("entry");
        zip.write_all(&std::fs::read(official_extension()).expect("read"))
            .expect("write");
        zip.finish().expect("finish");
    }
    let scenario = Scenario::new(staged.function_dir())
        .layer(&zip_path)
        .env("FIXTURE_EXIT_ON_SHUTDOWN", "1");
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    assert!(
        t.find(EXT, |k| matches!(k, EventKind::ShutdownEvent { .. }))
            .is_some(),
        "{text}"
    );
    assert_eq!(t.exit_of(EXT), Some((Some(0), None)), "{text}");
}

#[test]
fn the_cli_prints_a_timeline_and_json() {
    let _g = serial();
    let staged = staged_with_extension();
    let event = staged.file("event.json");
    std::fs::write(&event, r#"{"n":1}"#).expect("event");
    let exe = lambda_emulator();
    let base = |json: bool| {
        let mut c = std::process::Command::new(&exe);
        c.arg("--function-dir").arg(staged.function_dir());
        c.arg("--layer-dir").arg(staged.layer_dir());
        c.arg("--event").arg(&event);
        c.args([
            "--env",
            "FIXTURE_EXIT_ON_SHUTDOWN=1",
            "--shutdown-ms",
            "1000",
        ]);
        if json {
            c.arg("--json");
        }
        c.output().expect("run lambda-emulator")
    };
    let out = base(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "registered for SHUTDOWN (external)",
        "invoke #1",
        "<- SIGTERM",
        "<- SHUTDOWN (shutdownReason spindown",
        "| fixture-extension: SHUTDOWN",
        "exited with code 0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let out = base(true);
    assert!(out.status.success());
    let t: Timeline = serde_json::from_slice(&out.stdout).expect("--json prints a Timeline");
    assert!(t
        .find(
            EXT,
            |k| matches!(k, EventKind::ShutdownEvent { reason, .. } if reason == "spindown")
        )
        .is_some());

    // An event from standard input.
    let mut child = std::process::Command::new(&exe)
        .arg("--function-dir")
        .arg(staged.function_dir())
        .args(["--event", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(br#"{"from":"stdin"}"#).expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let t: Timeline = serde_json::from_slice(&out.stdout).expect("json");
    assert!(t
        .find(
            RUNTIME,
            |k| matches!(k, EventKind::Response { bytes, .. } if *bytes > 0)
        )
        .is_some());
    assert!(t
        .lines_of(RUNTIME)
        .any(|l| l.starts_with("fixture-function: handled ")));

    // Bad input names the flag and the fix.
    let out = std::process::Command::new(&exe)
        .arg("--function-dir")
        .arg(staged.function_dir())
        .args(["--env", "NOEQUALS"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--env \"NOEQUALS\": expected KEY=VALUE"),
        "{err}"
    );
    let out = std::process::Command::new(&exe)
        .args(["--function-dir", "/nonexistent-dir"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--function-dir"),
        "names the flag"
    );
}

#[test]
fn an_invoke_subscribed_extension_holds_each_invocation_until_it_calls_next() {
    let _g = serial();
    let staged = staged_with_extension();
    let scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("FIXTURE_EVENTS", "INVOKE,SHUTDOWN")
        .env("FIXTURE_EXIT_ON_SHUTDOWN", "1")
        .env("FIXTURE_INVOKE_DELAY_MS", "300")
        .invocations(2);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    let at = |pred: &dyn Fn(&EventKind) -> bool, source: &str| {
        t.of(source)
            .filter(|e| pred(&e.kind))
            .map(|e| e.at_ms)
            .collect::<Vec<_>>()
    };
    let invokes = at(&|k| matches!(k, EventKind::Invoke { .. }), PLATFORM);
    let responses = at(&|k| matches!(k, EventKind::Response { .. }), RUNTIME);
    assert_eq!((invokes.len(), responses.len()), (2, 2), "{text}");
    // The runtime answers at once, but the next invocation waits for the extension.
    assert!(responses[0] - invokes[0] < 150.0, "{text}");
    assert!(
        invokes[1] - invokes[0] >= 300.0,
        "invoke #2 only after the extension's next:\n{text}"
    );
    let phase = t
        .find(PLATFORM, |k| matches!(k, EventKind::ShutdownPhase { .. }))
        .map(|e| e.at_ms)
        .unwrap_or(0.0);
    assert!(phase - invokes[1] >= 300.0, "{text}");
}

/// A `bootstrap` (or extension) that is a shell script.
fn write_script(path: &std::path::Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Whether `pid` is a live (not zombie) `sleep` process, from /proc.
fn sleep_alive(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state is the field after the parenthesised command name.
    let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
    cmdline.starts_with(b"sleep\0") && !matches!(state, None | Some('Z' | 'X'))
}

fn read_pid(path: &std::path::Path) -> u32 {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a pid: {text:?}"))
}

#[test]
fn background_children_left_by_exited_processes_are_killed_with_their_group() {
    let _g = serial();
    let staged = Staged::new();
    let runtime_pid = staged.file("runtime-sleep.pid");
    let extension_pid = staged.file("extension-sleep.pid");
    // Each starts a `sleep 30` in the background that ignores SIGTERM (an
    // ignored signal stays ignored across exec), then becomes the official
    // binary; both leaders exit during the shutdown phase, the sleeps stay.
    write_script(
        &staged.function_dir().join("bootstrap"),
        &format!(
            "#!/bin/sh\n(trap '' TERM; exec sleep 30) &\necho $! > '{}'\nexec '{}'\n",
            runtime_pid.display(),
            official_function().display()
        ),
    );
    write_script(
        &staged.layer_dir().join("extensions/with-sidecar"),
        &format!(
            "#!/bin/sh\n(trap '' TERM; exec sleep 30) &\necho $! > '{}'\nFIXTURE_EXTENSION_NAME=with-sidecar exec '{}'\n",
            extension_pid.display(),
            official_extension().display()
        ),
    );
    let scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("FIXTURE_EXIT_ON_SHUTDOWN", "1");
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    // The runtime's sleep keeps the runtime domain alive: it is SIGKILLed at
    // the end of the runtime's share, and the timeline names it.
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM", "SIGKILL"], "{text}");
    let sleep = format!("pid {} (sleep)", read_pid(&runtime_pid));
    assert!(
        t.of(PLATFORM)
            .any(|e| matches!(&e.kind, EventKind::Note { message }
            if message.contains("SIGKILL to the runtime domain") && message.contains(&sleep))),
        "{text}"
    );
    assert_eq!(t.exit_of("with-sidecar"), Some((Some(0), None)), "{text}");
    for (source, pid_file) in [(RUNTIME, &runtime_pid), ("with-sidecar", &extension_pid)] {
        let pid = read_pid(pid_file);
        // SIGKILL is delivered at once, but give the kernel a moment to tear down.
        let until = std::time::Instant::now() + Duration::from_secs(2);
        while sleep_alive(pid) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !sleep_alive(pid),
            "the sleep {pid} that {source} left is still running:\n{text}"
        );
        assert!(
            source == RUNTIME || t.of(source).any(|e| matches!(&e.kind, EventKind::Note { message } if message.contains("left in its process group"))),
            "the timeline says so for {source}:\n{text}"
        );
    }
}

#[test]
fn an_extension_subscribed_to_invoke_only_is_killed_when_shutdown_is_delivered() {
    let _g = serial();
    // The official extension with FIXTURE_EVENTS=INVOKE, beside a second copy
    // that subscribes to SHUTDOWN only (a script setting its own variables).
    let staged = staged_with_extension();
    write_script(
        &staged.layer_dir().join("extensions/listener"),
        &format!(
            "#!/bin/sh\nFIXTURE_EVENTS=SHUTDOWN FIXTURE_EXTENSION_NAME=listener exec '{}'\n",
            official_extension().display()
        ),
    );
    let scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("FIXTURE_EVENTS", "INVOKE")
        .env("FIXTURE_EXIT_ON_SHUTDOWN", "1")
        .invocations(2);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    let text = graceful_shutdown_emulator::render(t);
    assert!(report.lifecycle_ok(), "{text}");
    assert!(
        t.find(EXT, |k| matches!(k, EventKind::Registered { events, internal: false } if events == &["INVOKE"]))
            .is_some(),
        "{text}"
    );
    assert_eq!(
        t.of(EXT)
            .filter(|e| matches!(e.kind, EventKind::InvokeEvent { .. }))
            .count(),
        2,
        "it hears every invocation:\n{text}"
    );
    assert!(
        t.find(EXT, |k| matches!(k, EventKind::ShutdownEvent { .. }))
            .is_none(),
        "it gets no SHUTDOWN:\n{text}"
    );
    assert_eq!(t.signals(EXT), vec!["SIGKILL"], "{text}");
    assert_eq!(
        t.exit_of(EXT),
        Some((None, Some("SIGKILL".to_owned()))),
        "{text}"
    );
    // Killed when the platform turns to the extensions: after the runtime is
    // gone, with the SHUTDOWN to the listener, long before the deadline.
    let at = |source: &str, what: &str, pred: &dyn Fn(&EventKind) -> bool| {
        t.of(source)
            .find(|e| pred(&e.kind))
            .map(|e| e.at_ms)
            .unwrap_or_else(|| panic!("no {what} from {source}:\n{text}"))
    };
    let phase = at(PLATFORM, "shutdown phase", &|k| {
        matches!(k, EventKind::ShutdownPhase { .. })
    });
    let rt_exit = at(RUNTIME, "exit", &|k| matches!(k, EventKind::Exited { .. }));
    let kill = at(
        EXT,
        "SIGKILL",
        &|k| matches!(k, EventKind::Signal { signal } if signal == "SIGKILL"),
    );
    let shutdown = at("listener", "SHUTDOWN", &|k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    assert!(rt_exit <= kill && rt_exit <= shutdown, "{text}");
    assert!(
        (kill - shutdown).abs() < 50.0,
        "SIGKILL {kill} ms and SHUTDOWN {shutdown} ms should be one step:\n{text}"
    );
    assert!(
        kill - phase < 1000.0,
        "killed at the start of delivery, not at the deadline:\n{text}"
    );
    assert_eq!(t.exit_of("listener"), Some((Some(0), None)), "{text}");
}
