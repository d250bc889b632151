//! The real shutdown layer (the `graceful-shutdown` extension binary) and the
//! real `probe` function, side by side as in Lambda: the extension registers
//! with a fake Extensions API, the function reports to it over loopback, the
//! function gets SIGTERM, and only then the extension gets SHUTDOWN.
//!
//! What the library does at shutdown in the common cases is stated for
//! every language in `tests/cases/shutdown.json` and run with this crate's
//! probe by the conformance driver (`rust/conformance/tests/rust_probe.rs`);
//! the cases that came from here say so in their `from`. What stays here
//! needs this harness: a share really used up by a busy loop beside the
//! function, and names and errors longer than a report holds.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use graceful_shutdown_testkit::cgroup::CpuQuota;
use nix::sys::signal::Signal;
use support::*;

fn extension_binary() -> PathBuf {
    built_binary(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    )
}

struct Environment {
    api: FakeLambdaApi,
    scratch: Scratch,
    extension: Process,
    function: Process,
    // Held until the extension is gone: no other test is handed this port.
    _port: PortLease,
}

/// Start the extension, wait for its registration, then start the function
/// with the same port and secret file, and wait for its init to end.
fn start(handlers: &str, timeout_ms: u32) -> Environment {
    start_in(handlers, timeout_ms, None)
}

/// [`start`], with both processes in `quota` (a CPU share) from their start.
fn start_in(handlers: &str, timeout_ms: u32, quota: Option<&CpuQuota>) -> Environment {
    // A leased port is free when leased; a program outside the lease scheme
    // may still take it before the extension binds it. The extension then
    // fails its init by name (Extension.ListenFailed), as it should, and the
    // environment is started again on another port, at most twice. The
    // refused ports stay leased meanwhile, so they are not handed out again.
    let mut refused = Vec::new();
    loop {
        match try_start_in(handlers, timeout_ms, quota) {
            Ok(env) => return env,
            Err((lease, log)) if refused.len() < 2 => {
                eprintln!(
                    "port {} was taken before the extension could bind it; again on another port. Its log: {log}",
                    lease.port()
                );
                refused.push(lease);
            }
            Err((lease, log)) => panic!(
                "port {} (and {} before it) taken before the extension could bind it: {log}",
                lease.port(),
                refused.len()
            ),
        }
    }
}

/// One try of [`start_in`]: `Err` with the lease and the extension's log
/// when the extension could not bind its port.
fn try_start_in(
    handlers: &str,
    timeout_ms: u32,
    quota: Option<&CpuQuota>,
) -> Result<Environment, (PortLease, String)> {
    let api = FakeLambdaApi::start(vec![]);
    let scratch = Scratch::new();
    let lease = PortLease::take();
    let port = lease.port().to_string();
    let secret_file = scratch.path("secret");

    let mut ext = lambda_command(&extension_binary(), &api, &scratch, "extension");
    ext.env("GRACEFUL_SHUTDOWN_PORT", &port)
        .env("GRACEFUL_SHUTDOWN_TIMEOUT_MS", timeout_ms.to_string())
        .env("GRACEFUL_SHUTDOWN_SECRET_FILE", &secret_file)
        // Debug: the extension logs each report it accepts, which tests wait for.
        .env("AWS_LAMBDA_LOG_LEVEL", "debug");
    let extension = Process::spawn(ext);
    if let Some(quota) = quota {
        quota
            .add(extension.id())
            .expect("the extension joins the CPU quota");
    }
    wait_until(
        "the extension registers",
        DEADLINE,
        || !api.log.lock().expect("lock").registered.is_empty(),
        || {
            format!(
                "its log: {}{}",
                scratch.read("extension.out"),
                scratch.read("extension.err")
            )
        },
    );
    assert_eq!(
        api.log.lock().expect("lock").registered,
        ["graceful-shutdown"]
    );
    if !secret_file.is_file() {
        let mut extension = extension;
        extension.wait_exit(DEADLINE);
        let log = format!(
            "{}{}",
            scratch.read("extension.out"),
            scratch.read("extension.err")
        );
        assert!(
            log.contains("Extension.ListenFailed"),
            "the extension writes the secret before it registers; its log: {log}"
        );
        return Err((lease, log));
    }

    let mut fun = lambda_command(&probe_binary(), &api, &scratch, "function");
    fun.env("PROBE_HANDLERS", handlers)
        .env("PROBE_OUTPUT", scratch.path("output"))
        .env("GRACEFUL_SHUTDOWN_PORT", &port)
        .env("GRACEFUL_SHUTDOWN_TIMEOUT_MS", timeout_ms.to_string())
        .env("GRACEFUL_SHUTDOWN_SECRET_FILE", &secret_file);
    let function = Process::spawn(fun);
    if let Some(quota) = quota {
        quota
            .add(function.id())
            .expect("the function joins the CPU quota");
    }
    api.wait_for_next_calls(1, DEADLINE);
    Ok(Environment {
        api,
        scratch,
        extension,
        function,
        _port: lease,
    })
}

impl Environment {
    /// Send SHUTDOWN to the extension and return its verdict line.
    fn shutdown_and_verdict(&mut self) -> String {
        self.api
            .send_shutdown("spindown", Duration::from_millis(1700));
        let (status, _) = self.extension.wait_exit(DEADLINE);
        let log = self.scratch.read("extension.out");
        assert_eq!(
            status.code(),
            Some(0),
            "extension log: {log}{}",
            self.scratch.read("extension.err")
        );
        let verdicts: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("graceful-shutdown verdict:"))
            .collect();
        assert_eq!(
            verdicts.len(),
            1,
            "exactly one verdict line expected: {log}"
        );
        verdicts[0].to_owned()
    }

    /// Wait until the extension has accepted `n` reports of type `kind`
    /// (its debug log has a line for each).
    fn wait_for_accepted(&self, kind: &str, n: usize) {
        let tag = format!("type={kind}");
        self.scratch.wait_for_lines(
            "extension.out",
            &format!("{n} {kind} report(s) accepted by the extension"),
            n,
            |l| l.contains("report accepted") && l.split_whitespace().any(|w| w == tag),
        );
    }
}

/// How often a kill is tried before the test gives up on the machine.
const ATTEMPTS: usize = 5;

/// A CPU share that is really used up: a busy loop in the same quota as the
/// function and the extension.
struct Starved {
    quota: CpuQuota,
    hog: graceful_shutdown_testkit::Proc,
}

/// Wait until the function writes `line` (`true`), or ends first (`false`).
fn wait_for_start(env: &mut Environment, line: &str) -> bool {
    let Environment {
        scratch, function, ..
    } = env;
    wait_for(
        &format!("{line:?}, or the function's exit"),
        DEADLINE,
        || {
            if scratch.read("output").lines().any(|l| l == line) {
                Some(true)
            } else {
                (!function.is_running()).then_some(false)
            }
        },
        || format!("output:\n{}", scratch.read("output")),
    )
}

/// Start the function with `flush:sleep=30,slow:sleep=5000,never:ok` and a
/// 280 ms budget, SIGTERM it, and SIGKILL it as soon as `slow` is seen to
/// start. With `starved`, the busy loop runs from the moment `flush`
/// starts: the `finished` and `started` reports between the two handlers are
/// written on a share the busy loop has used up. The test may see the
/// function reach the end of its budget and exit by itself before `slow`
/// starts or before the kill (a different verdict, and a true one): such an
/// attempt is made again, at most [`ATTEMPTS`] times. Returns the
/// environment of the kill.
fn killed_while_slow_runs(starved: Option<&Starved>) -> Environment {
    for attempt in 1..=ATTEMPTS {
        // The busy loop waits while the processes start and take the signal.
        if let Some(s) = starved {
            s.hog.signal(Signal::SIGSTOP);
        }
        let mut env = start_in(
            "flush:sleep=30,slow:sleep=5000,never:ok",
            280,
            starved.map(|s| &s.quota),
        );
        env.function.signal(Signal::SIGTERM);
        let mut on_time = true;
        if let Some(s) = starved {
            on_time = wait_for_start(&mut env, "start flush");
            s.hog.signal(Signal::SIGCONT);
        }
        on_time = on_time && wait_for_start(&mut env, "start slow");
        if on_time {
            env.function.signal(Signal::SIGKILL);
        }
        let (status, _) = env.function.wait_exit(DEADLINE);
        if status.code().is_none() {
            return env;
        }
        eprintln!(
            "attempt {attempt}: the function ended its budget before the kill ({status}); again"
        );
    }
    panic!("in {ATTEMPTS} attempts the function always ended its budget before the kill");
}

#[test]
fn on_a_starved_cpu_a_handler_killed_as_it_starts_is_still_named_running() {
    // A 128 MB function's CPU: about 7 % of a core (Lambda gives one vCPU at
    // 1,769 MB), for the function and the extension together, as in Lambda;
    // and a busy loop beside them in the same share, so that the share is
    // really used up, period after period.
    let quota = CpuQuota::create(7_000, 100_000).unwrap_or_else(|e| {
        panic!("this test needs the cgroup v1 cpu controller, writable (root): {e}")
    });
    let hog = graceful_shutdown_testkit::Proc::spawn(
        "a busy loop",
        std::process::Command::new("sh").args(["-c", "while :; do :; done"]),
    );
    quota
        .add(hog.id())
        .expect("the busy loop joins the CPU quota");
    wait_until(
        "the CPU quota holds the busy loop back (cpu.stat nr_throttled)",
        DEADLINE,
        || quota.throttled().0 > 0,
        || format!("{:?}", quota.throttled()),
    );
    let starved = Starved { quota, hog };
    // Killed the moment `slow` is seen to start, with no wait for any
    // report: the library delivers `started` before the handler runs.
    let mut env = killed_while_slow_runs(Some(&starved));
    // The extension keeps its 7 %, without the busy loop, for its verdict.
    let Starved {
        quota: _quota,
        mut hog,
    } = starved;
    hog.kill();

    let verdict = env.shutdown_and_verdict();
    assert!(verdict.contains("outcome=runtime_killed"), "{verdict}");
    assert!(
        verdict.contains("flush=ok(")
            && verdict.contains("slow=running")
            && verdict.contains("never=not_started"),
        "{verdict}"
    );
    eprintln!("verdict on 7 % of a core: {verdict}");
}

#[test]
fn a_long_name_and_error_still_reach_the_verdict() {
    // Names and errors this long used to make reports bigger than the
    // extension accepts (4096 bytes): the handler then showed as `running`.
    let long = "é".repeat(2000);
    let mut env = start(&format!("{long}:error,after:ok"), 250);
    env.function.signal(Signal::SIGTERM);
    assert_eq!(env.function.wait_exit(DEADLINE).0.code(), Some(0));
    let verdict = env.shutdown_and_verdict();
    let cut = format!("{}…", "é".repeat(62));
    assert!(
        verdict.contains("outcome=handlers_failed reason=spindown handlers=1/2"),
        "{verdict}"
    );
    assert!(
        verdict.contains(&format!(" {cut}=failed(")) && verdict.contains(" after=ok("),
        "{verdict}"
    );
    let log = env.scratch.read("extension.out");
    assert!(!log.contains("report refused"), "{log}");
}

#[test]
fn many_long_names_are_all_announced_at_cold_start() {
    // More names than one report body holds: the function never gets SIGTERM
    // here, so `hello` is the only report that can name them.
    let names: Vec<String> = (0..40)
        .map(|i| format!("handler-{i:02}-{}", "x".repeat(110)))
        .collect();
    let handlers: Vec<String> = names.iter().map(|n| format!("{n}:ok")).collect();
    let mut env = start(&handlers.join(","), 250);
    // The hellos (two: the names take about 5,000 bytes) go out in the
    // background; wait until the extension has accepted both, then kill.
    env.wait_for_accepted("hello", 2);
    env.function.signal(Signal::SIGKILL);
    let _ = env.function.wait_exit(DEADLINE);
    let verdict = env.shutdown_and_verdict();
    assert!(
        verdict.contains("outcome=runtime_killed reason=spindown handlers=0/40"),
        "{verdict}"
    );
    for name in &names {
        assert!(
            verdict.contains(&format!(" {name}=not_started")),
            "{name} missing from: {verdict}"
        );
    }
    let log = env.scratch.read("extension.out");
    assert!(!log.contains("report refused"), "{log}");
}
