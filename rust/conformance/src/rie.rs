//! The backend of AWS's Runtime Interface Emulator (the open-source Lambda
//! core), for the cases that need no emulator-only setting
//! ([`Case::emulator_only`]). As `scripts/rie-compare.sh` and the RIE tests
//! of the emulator run it: in private mount and PID namespaces (`unshare`,
//! root), a tmpfs on `/opt` with the layer's `extensions/` bind-mounted on
//! `/opt/extensions` and the function directory on `/var/task`; each
//! invocation posted to its invoke API; once the runtime is idle in
//! `/invocation/next` again, SIGTERM to the RIE runs the shutdown phase
//! (reason `SandboxTerminated`). Every wait is for a line the RIE logs, or a
//! port, with a deadline. The RIE's log is no timeline: only the verdict, the
//! probe's output and the log's lines are read ([`crate::check::RIE_KEYS`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use graceful_shutdown_emulator::runtimes::{self, Runtime};
use graceful_shutdown_protocol::VERDICT_MARKER;
use graceful_shutdown_testkit::PortLease;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::cases::Case;
use crate::check::Observed;
use crate::emulate::{probe_env, read_lines};
use crate::probe::Probe;
use crate::Settings;

/// The RIE version `scripts/rie-compare.sh` pins (its `VERSION=` line).
pub fn pinned_version() -> Option<&'static str> {
    include_str!("../../../scripts/rie-compare.sh")
        .lines()
        .find_map(|l| l.strip_prefix("VERSION="))
        .map(str::trim)
}

/// `--rie`, else `AWS_LAMBDA_RIE`, else the pinned version under
/// `<target>/rie/` (the target directory this driver was built into, or
/// `CARGO_TARGET_DIR`).
pub fn rie_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_owned());
    }
    if let Some(p) = std::env::var_os("AWS_LAMBDA_RIE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t),
        None => graceful_shutdown_testkit::target_dir()
            .parent()
            .context("no target directory above this executable")?
            .to_owned(),
    };
    let version = pinned_version().context("scripts/rie-compare.sh has no VERSION= line")?;
    Ok(target.join("rie").join(version).join("aws-lambda-rie"))
}

/// Whether this machine can run the RIE backend: root, `unshare`, the RIE.
pub fn available(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err(
            "the RIE backend needs root (a private mount namespace for /opt/extensions)".into(),
        );
    }
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .iter()
        .any(|p| Path::new(p).is_file());
    if !unshare {
        return Err("the RIE backend needs unshare (util-linux)".into());
    }
    let rie = rie_binary(explicit).map_err(|e| format!("{e:#}"))?;
    if !rie.is_file() {
        return Err(format!(
            "{} is missing: `bash scripts/rie-compare.sh` installs the pinned RIE (or set AWS_LAMBDA_RIE)",
            rie.display()
        ));
    }
    Ok(rie)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The RIE's debug lines for a runtime's `GET /invocation/next`.
const NEXT_MARKERS: [&str; 2] = [
    "GET /2018-06-01/runtime/invocation/next",
    "Received Runtime /next",
];
/// What the RIE logs at the end of its shutdown phase.
const RESET_DONE: &str = "Waiting for runtime domain processes termination";

const WAIT: Duration = Duration::from_secs(60);

fn log_lines(log: &Path) -> Vec<String> {
    String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default())
        .lines()
        .map(str::to_owned)
        .collect()
}

fn wait_log(
    log: &Path,
    what: &str,
    deadline: Instant,
    done: impl Fn(&[String]) -> bool,
) -> anyhow::Result<()> {
    loop {
        let lines = log_lines(log);
        if done(&lines) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the RIE never logged {what}:\n{}", lines.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

fn invoke(port: u16, payload: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).context("connecting to the RIE")?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// The (first) child process of `pid`.
fn child_of(pid: u32, deadline: Instant) -> anyhow::Result<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(first) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
            return Ok(first);
        }
        if Instant::now() > deadline {
            bail!("unshare {pid} started no child");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Signals exactly one process by id (never a group); one already gone is fine.
fn signal_exact(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        if pid > 1 {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }
}

/// The function directory, the runtime's command and its variables.
type RuntimeCommand = (PathBuf, String, Vec<(String, String)>);

/// The runtime's command and environment under the RIE: the probe's
/// `bootstrap`, or on a managed runtime its official client as the
/// emulator starts it, with the variables Lambda sets for it.
fn runtime_command(settings: &Settings, scratch: &Path) -> anyhow::Result<RuntimeCommand> {
    let task = Path::new("/var/task");
    match &settings.probe {
        Probe::Function(_) => Ok((
            settings.probe.function_dir(scratch)?,
            "/var/task/bootstrap".to_owned(),
            vec![("_HANDLER".to_owned(), "bootstrap".to_owned())],
        )),
        Probe::Managed {
            runtime,
            handler,
            code,
        } => {
            let rt = Runtime::parse(runtime)?;
            let clients = runtimes::locate(None)?;
            let opt = [PathBuf::from("/opt")];
            let (program, args) = rt.command(&clients, handler, task, &opt)?;
            let mut line = vec![quote(&program.display().to_string())];
            line.extend(args.iter().map(|a| quote(a)));
            let bootstrap = scratch.join("bootstrap");
            std::fs::write(&bootstrap, format!("#!/bin/sh\nexec {}\n", line.join(" ")))?;
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))?;
            }
            let mut env = vec![
                ("_HANDLER".to_owned(), handler.clone()),
                ("AWS_EXECUTION_ENV".to_owned(), rt.execution_env()),
            ];
            if let Some(search) = rt.search_path(task, &opt) {
                env.push(search);
            }
            Ok((
                std::path::absolute(code)?,
                bootstrap.display().to_string(),
                env,
            ))
        }
    }
}

/// Runs `case` under the RIE; returns what its log and the probe showed.
pub fn run(case: &Case, settings: &Settings, scratch: &Path) -> anyhow::Result<Observed> {
    let rie = available(settings.rie.as_deref()).map_err(anyhow::Error::msg)?;
    let deadline = Instant::now() + WAIT;
    let (task, command, runtime_env) = runtime_command(settings, scratch)?;
    let extensions = std::path::absolute(settings.layer.join("extensions"))?;
    let report_port = PortLease::take();
    let rie_port = PortLease::take();
    let api_port = PortLease::take();
    let script = scratch.join("rie.sh");
    std::fs::write(
        &script,
        format!(
            "set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions /var/task\n\
             mount --bind {} /opt/extensions\nmount --bind {} /var/task\ncd /var/task\n\
             exec {} --log-level debug --runtime-interface-emulator-address 127.0.0.1:{} \
             --runtime-api-address 127.0.0.1:{} {}\n",
            quote(&extensions.display().to_string()),
            quote(&task.display().to_string()),
            quote(&rie.display().to_string()),
            rie_port.port(),
            api_port.port(),
            quote(&command),
        ),
    )?;
    // Lambda's variables for the runtime, then the driver's settings, the
    // probe's and the case's (an empty AWS_EXECUTION_ENV: unset, as in the emulator).
    let mut env: Vec<(String, String)> = vec![
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        // The RIE counts an on-demand init into the first invocation's timeout.
        ("AWS_LAMBDA_FUNCTION_TIMEOUT".to_owned(), "10".to_owned()),
        ("LAMBDA_TASK_ROOT".to_owned(), "/var/task".to_owned()),
    ];
    env.extend(runtime_env);
    env.extend(settings.env.iter().cloned());
    env.extend(probe_env(case, scratch, report_port.port()));
    env.extend(case.env.0.iter().cloned());
    let mut merged: Vec<(String, String)> = Vec::new();
    for (k, v) in env {
        merged.retain(|(m, _)| *m != k);
        merged.push((k, v));
    }
    merged.retain(|(k, v)| !(k == "AWS_EXECUTION_ENV" && v.is_empty()));

    // The runtime writes to the RIE's output itself: on a disk busy with a
    // build's writeback one write can block past the RIE's shutdown share,
    // so the log lives on tmpfs where there is one.
    let shm = Path::new("/dev/shm");
    let live = if shm.is_dir() {
        Some(
            tempfile::Builder::new()
                .prefix("shutdown-conformance-rie-")
                .tempdir_in(shm)?,
        )
    } else {
        None
    };
    let log = live.as_ref().map_or(scratch, |d| d.path()).join("rie.log");
    let file = std::fs::File::create(&log)?;
    let mut child = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child=SIGTERM",
            "--mount-proc",
            "sh",
        ])
        .arg(&script)
        .env_clear()
        .envs(merged)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .context("starting unshare (util-linux)")?;
    let group = Pid::from_raw(i32::try_from(child.id())?);
    let result = (|| -> anyhow::Result<()> {
        // Both servers, or an extension may start before the Runtime API listens.
        while !(listening(rie_port.port()) && listening(api_port.port())) {
            if child.try_wait()?.is_some() {
                bail!(
                    "the RIE ended before listening:\n{}",
                    log_lines(&log).join("\n")
                );
            }
            if Instant::now() > deadline {
                bail!("the RIE did not listen:\n{}", log_lines(&log).join("\n"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // unshare --fork ignores SIGTERM while it waits: the RIE is its child.
        let rie_pid = child_of(child.id(), deadline)?;
        for i in 0..case.invocations {
            let answer = invoke(rie_port.port(), case.payload(i))?;
            if !answer.starts_with("HTTP/1.1 200") {
                bail!("the RIE answered: {answer}\n{}", log_lines(&log).join("\n"));
            }
        }
        // Idle: the runtime called /next again after its last response.
        let nexts = case.invocations as usize + 1;
        wait_log(
            &log,
            &format!("{nexts} calls of /invocation/next"),
            deadline,
            |ls| {
                ls.iter()
                    .filter(|l| NEXT_MARKERS.iter().any(|m| l.contains(m)))
                    .count()
                    >= nexts
            },
        )?;
        signal_exact(rie_pid, Signal::SIGTERM);
        wait_log(&log, "the end of the shutdown phase", deadline, |ls| {
            ls.iter().any(|l| l.contains(RESET_DONE))
        })?;
        // A second SIGTERM makes it exit.
        signal_exact(rie_pid, Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(10);
        while child.try_wait()?.is_none() {
            if Instant::now() > until {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    })();
    if child.try_wait().ok().flatten().is_none() {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
    }
    result?;
    let lines = log_lines(&log);
    let _ = std::fs::write(scratch.join("rie.log"), lines.join("\n"));
    Ok(Observed {
        lifecycle_ok: None,
        timeline: None,
        runtime_lines: lines.clone(),
        verdict_line: lines.iter().find(|l| l.contains(VERDICT_MARKER)).cloned(),
        output: read_lines(&scratch.join("probe-output.txt")),
        sent: Vec::new(),
        log: lines,
        problems: Vec::new(),
    })
}
