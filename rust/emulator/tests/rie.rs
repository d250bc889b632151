//! Fidelity against AWS's Runtime Interface Emulator (the open-source Lambda
//! core): the same function and extension run under both, and the order of
//! what happens must match. Needs the `aws-lambda-rie` binary (found through
//! `AWS_LAMBDA_RIE`, the version `scripts/rie-compare.sh` pins under
//! `target/rie/`, `PATH` or `$GOPATH/bin`), `unshare` and root: the RIE scans
//! `/opt/extensions`, so it runs in a private mount namespace with the staged
//! layer bind-mounted there. Built only with `--features rie`
//! (`scripts/rie-compare.sh` installs the pinned RIE and runs it;
//! `scripts/test.d/40-rie.sh` runs that in the test suite).
//! Two sets of scenarios: the shutdown layer with the function library (the
//! `probe` example), and the official `lambda_runtime` and `lambda-extension`
//! crates (`tests/fixtures/official-*`), unmodified.

mod common;
mod rie_support;

use std::time::Duration;

use common::{built, free_port, official_extension, official_function, rt, serial, Staged};
use graceful_shutdown_emulator::{
    Emulator, EventKind, Faults, Scenario, Timeline, PLATFORM, RUNTIME,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};
use rie_support::{dir_of, Ending, RieRun};

/// What both emulators must agree on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An external extension registered: its name and events, space-separated.
    ExtensionRegistered {
        name: String,
        events: String,
    },
    SigtermToRuntime,
    /// The runtime had not exited at the end of its share and was SIGKILLed.
    RuntimeKilledAtDeadline,
    KillRuntimeWithoutSigterm,
    HandlersStarted,
    /// The platform turned to the extensions (SHUTDOWN to the subscribed ones,
    /// SIGKILL to the others).
    ShutdownToExtensions,
    /// An extension not subscribed to SHUTDOWN was killed instead.
    KilledWithoutShutdown(String),
    /// An extension that got SHUTDOWN had not exited by the deadline.
    KilledAtDeadline(String),
    Verdict(String),
    /// A line the official extension fixture printed, without its ids and times.
    Fixture(String),
}

fn registered(name: &str, events: &str) -> Step {
    Step::ExtensionRegistered {
        name: name.to_owned(),
        events: events.to_owned(),
    }
}

/// Steps from the extension's and the runtime's log lines, common to both.
fn step_of_log(line: &str) -> Option<Step> {
    if line.starts_with("fixture-extension: INVOKE ") {
        // The request id and deadline differ between the two runs.
        Some(Step::Fixture("fixture-extension: INVOKE".to_owned()))
    } else if line.starts_with("fixture-extension: SHUTDOWN ") {
        let kept = line.split(" deadlineMs=").next().unwrap_or(line);
        Some(Step::Fixture(kept.to_owned()))
    } else if line.contains(SIGTERM_HANDLER_RAN) {
        Some(Step::Fixture(SIGTERM_HANDLER_RAN.to_owned()))
    } else if line.contains("graceful-shutdown: running shutdown handlers") {
        Some(Step::HandlersStarted)
    } else if let Some(v) = line.strip_prefix("graceful-shutdown verdict: ") {
        // outcome, reason and handler results; timings differ run to run.
        let head = v.split(" -- ").next().unwrap_or(v);
        let kept: Vec<&str> = head
            .split_whitespace()
            .filter(|t| !t.starts_with("total_ms="))
            .map(|t| t.split('(').next().unwrap_or(t))
            .collect();
        Some(Step::Verdict(kept.join(" ")))
    } else {
        None
    }
}

/// The RIE's own (debug) log lines for the platform's steps, as its
/// `internal/lambda/rapid/shutdown.go` and `rapi/handler/agentregister.go`
/// write them at the pinned version.
fn step_of_rie_line(line: &str) -> Option<Step> {
    if let Some(rest) = line.split("(rapid) External agent ").nth(1) {
        // `External agent NAME (ID) registered, subscribed to [INVOKE SHUTDOWN]`
        let name = rest.split(" (").next()?;
        let events = rest
            .split(" registered, subscribed to [")
            .nth(1)?
            .strip_suffix(']')?;
        Some(registered(name, events))
    } else if let Some(rest) = line.split("(rapid) Agent ").nth(1) {
        // `Agent NAME (ID) is not registered for the shutdown event, so just killing it.`
        rest.contains("is not registered for the shutdown event, so just killing it")
            .then(|| {
                Step::KilledWithoutShutdown(rest.split(" (").next().unwrap_or(rest).to_owned())
            })
    } else if let Some(rest) = line.split("(rapid) Deadline: the agent extension-").nth(1) {
        // `Deadline: the agent extension-NAME-GENERATION did not exit after deadline ...`
        let process = rest.split(" did not exit").next()?;
        let name = process.rsplit_once('-').map_or(process, |(n, _)| n);
        Some(Step::KilledAtDeadline(name.to_owned()))
    } else if line.contains("(rapid) Deadline: The runtime did not exit after deadline") {
        Some(Step::RuntimeKilledAtDeadline)
    } else if line.contains("(rapid) Shutting down the runtime.") {
        Some(Step::SigtermToRuntime)
    } else if line.contains("(rapid) SIGKILLing the runtime as no agents are registered.") {
        Some(Step::KillRuntimeWithoutSigterm)
    } else if line.contains("(rapid) Shutting down the agents.") {
        Some(Step::ShutdownToExtensions)
    } else {
        step_of_log(line)
    }
}

/// The same steps from our timeline: events and log lines merged in time order.
fn steps_of_timeline(t: &Timeline) -> Vec<Step> {
    let mut rows: Vec<(f64, u8, Option<Step>)> = Vec::new();
    let mut in_phase = false;
    let mut turned_to_extensions = false;
    let mut got_shutdown: Vec<&str> = Vec::new();
    let mut sigterm_sent = false;
    for e in &t.events {
        // The first SHUTDOWN or SIGKILL to an extension in the shutdown phase
        // is where the RIE logs "Shutting down the agents.".
        let to_extension = in_phase
            && e.source != RUNTIME
            && e.source != PLATFORM
            && matches!(
                &e.kind,
                EventKind::ShutdownEvent { .. } | EventKind::Signal { .. }
            );
        if to_extension && !turned_to_extensions {
            turned_to_extensions = true;
            rows.push((e.at_ms, 0, Some(Step::ShutdownToExtensions)));
        }
        let step = match &e.kind {
            EventKind::ShutdownPhase { .. } => {
                in_phase = true;
                None
            }
            EventKind::Registered {
                events,
                internal: false,
            } => Some(registered(&e.source, &events.join(" "))),
            EventKind::Signal { signal } if e.source == RUNTIME && signal == "SIGTERM" => {
                sigterm_sent = true;
                Some(Step::SigtermToRuntime)
            }
            EventKind::Signal { signal }
                if e.source == RUNTIME && signal == "SIGKILL" && in_phase && sigterm_sent =>
            {
                Some(Step::RuntimeKilledAtDeadline)
            }
            EventKind::Note { message } if message.starts_with("no extension registered") => {
                Some(Step::KillRuntimeWithoutSigterm)
            }
            EventKind::ShutdownEvent { .. } if to_extension => {
                got_shutdown.push(&e.source);
                None
            }
            EventKind::Signal { signal } if to_extension && signal == "SIGKILL" => {
                Some(if got_shutdown.contains(&e.source.as_str()) {
                    Step::KilledAtDeadline(e.source.clone())
                } else {
                    Step::KilledWithoutShutdown(e.source.clone())
                })
            }
            _ => None,
        };
        rows.push((e.at_ms, 0, step));
    }
    for l in &t.logs {
        rows.push((l.at_ms, 1, step_of_log(&l.line)));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    rows.into_iter().filter_map(|r| r.2).collect()
}

struct Setup {
    staged: Staged,
    env: Vec<(String, String)>,
    with_layer: bool,
    /// A managed runtime and its handler; `None`: the staged `bootstrap`.
    runtime: Option<(&'static str, &'static str)>,
}

impl Setup {
    /// Our scenario for this setup (without the ending).
    fn scenario(&self) -> Scenario {
        let mut scenario = Scenario::new(self.staged.function_dir());
        if let Some((runtime, handler)) = self.runtime {
            scenario = scenario.managed_runtime(runtime, handler);
        }
        if self.with_layer {
            scenario = scenario.layer(self.staged.layer_dir());
        }
        scenario.env = self.env.clone();
        scenario
    }

    /// The same function under the RIE: its command line is the managed
    /// runtime's client (from the emulator's own layout), with the runtime's
    /// variables Lambda sets (`_HANDLER`, `LAMBDA_TASK_ROOT`,
    /// `AWS_EXECUTION_ENV`, `PYTHONPATH` / `NODE_PATH`) in the RIE's environment.
    fn rie_run(&self, ending: Ending, payload: &str) -> RieRun {
        let scenario = self.scenario();
        let mut env = self.env.clone();
        let mut command = Vec::new();
        if self.runtime.is_some() {
            let layout = graceful_shutdown_emulator::layout::Layout::of(&scenario).expect("layout");
            command.push(layout.bootstrap.display().to_string());
            command.extend(layout.bootstrap_args.iter().cloned());
            let rt_env = graceful_shutdown_emulator::environment::runtime(&scenario, "", &[]);
            for k in [
                "_HANDLER",
                "LAMBDA_TASK_ROOT",
                "AWS_EXECUTION_ENV",
                "PYTHONPATH",
                "NODE_PATH",
            ] {
                env.retain(|(name, _)| name != k);
                if let Some(v) = rt_env.get(k) {
                    env.push((k.to_owned(), v.clone()));
                }
            }
        }
        RieRun {
            function_dir: self.staged.function_dir(),
            extensions: self
                .with_layer
                .then(|| self.staged.layer_dir().join("extensions")),
            command,
            env,
            payload: payload.to_owned(),
            ending,
            work_dir: self.staged.path().to_owned(),
        }
    }
}

fn run_rie(s: &Setup, ending: Ending, payload: &str) -> Vec<String> {
    rie_support::run_rie(&s.rie_run(ending, payload))
}

fn setup(with_layer: bool) -> Setup {
    let mut staged = Staged::new().bootstrap(&built(
        "examples/probe",
        "cargo build -p lambda-graceful-shutdown --examples",
    ));
    if with_layer {
        staged = staged.extension(
            "graceful-shutdown",
            &built(
                "graceful-shutdown",
                "cargo build -p graceful-shutdown-extension",
            ),
        );
    }
    let env = vec![
        (
            "PROBE_HANDLERS".to_owned(),
            "flush:ok,close-pool:ok".to_owned(),
        ),
        (ENV_PORT.to_owned(), free_port().to_string()),
        (
            ENV_SECRET_FILE.to_owned(),
            staged.file("secret").display().to_string(),
        ),
    ];
    Setup {
        staged,
        env,
        with_layer,
        runtime: None,
    }
}

const FIXTURE: &str = "official-extension-fixture";

/// The official crates' fixtures: the function as `bootstrap`, the extension
/// in the layer, configured by `FIXTURE_*` variables (see the fixture).
fn setup_official(env: &[(&str, &str)]) -> Setup {
    let staged = Staged::new()
        .bootstrap(&official_function())
        .extension(FIXTURE, &official_extension());
    Setup {
        staged,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        with_layer: true,
        runtime: None,
    }
}

fn run_ours(s: &Setup, faults: Faults, payload: &str, timeout: Duration) -> Timeline {
    let mut scenario = s.scenario().event(payload.as_bytes().to_vec());
    scenario.timeout = timeout;
    scenario.faults = faults;
    rt().block_on(Emulator::run(scenario))
        .expect("run")
        .timeline
}

fn compare(rie_lines: &[String], ours: &Timeline) -> Vec<Step> {
    let theirs: Vec<Step> = rie_lines
        .iter()
        .filter_map(|l| step_of_rie_line(l))
        .collect();
    let mine = steps_of_timeline(ours);
    assert_eq!(
        mine,
        theirs,
        "the order differs.\n--- RIE log:\n{}\n--- our timeline:\n{}",
        rie_lines.join("\n"),
        graceful_shutdown_emulator::render(ours)
    );
    mine
}

#[test]
fn an_invoke_timeout_shuts_down_in_the_same_order_as_the_rie() {
    let _g = serial();
    let s = setup(true);
    let payload = r#"{"action":"sleep","ms":3000}"#;
    let rie = run_rie(&s, Ending::InvokeTimeout, payload);
    // The RIE sends its reset reason as is (`Timeout`); so do we, through the fault knob.
    let faults = Faults {
        shutdown_reason: Some("Timeout".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, payload, Duration::from_millis(1000));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered("graceful-shutdown", "SHUTDOWN"),
            Step::SigtermToRuntime,
            Step::HandlersStarted,
            Step::ShutdownToExtensions,
            Step::Verdict(
                "outcome=completed reason=timeout handlers=2/2 flush=ok close-pool=ok".to_owned()
            ),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
}

#[test]
fn a_terminated_sandbox_shuts_down_in_the_same_order_as_the_rie() {
    let _g = serial();
    let s = setup(true);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps.first(),
        Some(&registered("graceful-shutdown", "SHUTDOWN"))
    );
    // An undocumented reason is kept as sent.
    assert_eq!(
        steps.last(),
        Some(&Step::Verdict(
            "outcome=completed reason=SandboxTerminated handlers=2/2 flush=ok close-pool=ok"
                .to_owned()
        ))
    );
}

#[test]
fn without_an_extension_both_kill_the_runtime_without_sigterm() {
    let _g = serial();
    let s = setup(false);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let ours = run_ours(&s, Faults::default(), "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![Step::KillRuntimeWithoutSigterm],
        "no handler ran under either"
    );
}

#[test]
fn the_official_crates_shut_down_in_the_same_order_as_the_rie() {
    let _g = serial();
    let s = setup_official(&[
        ("FIXTURE_EVENTS", "INVOKE,SHUTDOWN"),
        ("FIXTURE_EXIT_ON_SHUTDOWN", "1"),
    ]);
    let payload = r#"{"hello":"world"}"#;
    let rie = run_rie(&s, Ending::Terminate, payload);
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, payload, Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered(FIXTURE, "INVOKE SHUTDOWN"),
            Step::Fixture("fixture-extension: INVOKE".to_owned()),
            Step::SigtermToRuntime,
            Step::ShutdownToExtensions,
            Step::Fixture("fixture-extension: SHUTDOWN reason=SandboxTerminated".to_owned()),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
    // Neither gives the extension the runtime-only variables.
    let clean = "fixture-extension: runtime-only variables seen: []";
    assert!(rie.iter().any(|l| l == clean), "{}", rie.join("\n"));
    assert!(ours.lines_of(FIXTURE).any(|l| l == clean));
    assert_eq!(ours.exit_of(FIXTURE), Some((Some(0), None)));
}

#[test]
fn an_official_extension_that_stays_after_shutdown_is_killed_at_the_deadline_by_both() {
    let _g = serial();
    // SHUTDOWN only; after SHUTDOWN the official crate calls /event/next again
    // and blocks there, so the deadline's SIGKILL ends it.
    let s = setup_official(&[("FIXTURE_EVENTS", "SHUTDOWN")]);
    let payload = r#"{"sleepMs":3000}"#;
    let rie = run_rie(&s, Ending::InvokeTimeout, payload);
    let faults = Faults {
        shutdown_reason: Some("Timeout".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, payload, Duration::from_millis(1000));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered(FIXTURE, "SHUTDOWN"),
            Step::SigtermToRuntime,
            Step::ShutdownToExtensions,
            Step::Fixture("fixture-extension: SHUTDOWN reason=Timeout".to_owned()),
            Step::KilledAtDeadline(FIXTURE.to_owned()),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
}

#[test]
fn an_extension_subscribed_to_invoke_only_is_killed_without_shutdown_by_both() {
    let _g = serial();
    let s = setup_official(&[("FIXTURE_EVENTS", "INVOKE")]);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered(FIXTURE, "INVOKE"),
            Step::Fixture("fixture-extension: INVOKE".to_owned()),
            Step::SigtermToRuntime,
            Step::ShutdownToExtensions,
            Step::KilledWithoutShutdown(FIXTURE.to_owned()),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
}

// ---- Managed runtimes: the official Python and Node.js clients ----

/// What the functions' hand-written SIGTERM handlers print.
const SIGTERM_HANDLER_RAN: &str = "SIGTERM handler ran";

/// A managed-runtime function: its runtime, handler, file and source.
struct Managed {
    runtime: &'static str,
    handler: &'static str,
    file: &'static str,
    source: &'static str,
}

/// The pattern of the aws-samples graceful-shutdown repository.
const PYTHON_SIGTERM: Managed = Managed {
    runtime: "python3.12",
    handler: "app.handler",
    file: "app.py",
    source: r#"
import signal, sys
def exit_gracefully(signum, frame):
    print("SIGTERM handler ran", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, exit_gracefully)
def handler(event, context):
    return {"ok": True}
"#,
};

const NODE_LISTENER: Managed = Managed {
    runtime: "nodejs22.x",
    handler: "index.handler",
    file: "index.js",
    source: r#"
process.on("SIGTERM", () => { console.log("SIGTERM handler ran"); });
exports.handler = async () => ({ ok: true });
"#,
};

const NODE_LISTENER_EXIT: Managed = Managed {
    source: r#"
process.on("SIGTERM", () => { console.log("SIGTERM handler ran"); process.exit(0); });
exports.handler = async () => ({ ok: true });
"#,
    ..NODE_LISTENER
};

/// `f` with the shutdown layer attached.
fn setup_managed(f: &Managed, env: &[(&str, &str)]) -> Setup {
    let staged = Staged::new().extension(
        "graceful-shutdown",
        &built(
            "graceful-shutdown",
            "cargo build -p graceful-shutdown-extension",
        ),
    );
    std::fs::write(staged.function_dir().join(f.file), f.source).expect("write the function");
    let mut all = vec![
        (ENV_PORT.to_owned(), free_port().to_string()),
        (
            ENV_SECRET_FILE.to_owned(),
            staged.file("secret").display().to_string(),
        ),
    ];
    all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Setup {
        staged,
        env: all,
        with_layer: true,
        runtime: Some((f.runtime, f.handler)),
    }
}

/// What becomes of the runtime after its SIGTERM.
#[derive(Debug, Clone, Copy)]
enum AfterSigterm {
    /// The handler never runs; SIGKILL at the end of the runtime's share.
    NothingRunsThenKilled,
    /// The handler runs and the runtime exits by itself.
    HandlerRunsThenExits,
    /// The handler runs, the runtime stays; SIGKILL at the end of its share.
    HandlerRunsThenKilled,
}

/// Runs `f` with `env` under both, idle and then terminated; both must agree
/// step by step (did the handler run, did the runtime exit or get SIGKILLed,
/// which SHUTDOWN the extension got), and on what `after` says.
fn managed_case(f: &Managed, env: &[(&str, &str)], after: AfterSigterm) {
    let _g = serial();
    let s = setup_managed(f, env);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    let ran = Step::Fixture(SIGTERM_HANDLER_RAN.to_owned());
    let middle = match after {
        AfterSigterm::NothingRunsThenKilled => vec![Step::RuntimeKilledAtDeadline],
        AfterSigterm::HandlerRunsThenExits => vec![ran],
        AfterSigterm::HandlerRunsThenKilled => vec![ran, Step::RuntimeKilledAtDeadline],
    };
    let expected: Vec<Step> = [
        registered("graceful-shutdown", "SHUTDOWN"),
        Step::SigtermToRuntime,
    ]
    .into_iter()
    .chain(middle)
    .chain([
        Step::ShutdownToExtensions,
        Step::Verdict("outcome=no_report reason=SandboxTerminated handlers=0/0".to_owned()),
    ])
    .collect();
    assert_eq!(steps, expected, "in {}", dir_of(s.staged.path()));
}

#[test]
fn python_without_thread_polling_never_runs_its_sigterm_handler_under_either() {
    // AWS_EXECUTION_ENV unset (container images): the client's main thread
    // waits in native code inside next(), so the Python handler never runs.
    managed_case(
        &PYTHON_SIGTERM,
        &[("AWS_EXECUTION_ENV", "")],
        AfterSigterm::NothingRunsThenKilled,
    );
}

#[test]
fn python_with_thread_polling_runs_its_sigterm_handler_under_both() {
    managed_case(
        &PYTHON_SIGTERM,
        &[("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")],
        AfterSigterm::HandlerRunsThenExits,
    );
}

#[test]
fn a_node_sigterm_listener_runs_under_both_and_the_runtime_is_killed_at_the_end_of_its_share() {
    managed_case(&NODE_LISTENER, &[], AfterSigterm::HandlerRunsThenKilled);
}

#[test]
fn process_exit_in_a_node_sigterm_listener_hangs_until_sigkill_under_both() {
    managed_case(
        &NODE_LISTENER_EXIT,
        &[],
        AfterSigterm::HandlerRunsThenKilled,
    );
}
