//! Real child processes, each in its own process group, with their output
//! captured line by line and their exit recorded.

use std::os::fd::RawFd;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::environment::Env;
use crate::timeline::{EventKind, Recorder, Stream};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// A started process: its group id, and a watch that turns `Some` when it exits.
#[derive(Debug)]
pub struct Child {
    pub source: String,
    pub pid: u32,
    exit: watch::Receiver<Option<Exit>>,
    pumps: Vec<JoinHandle<()>>,
}

impl Child {
    /// Starts `path` with `args`. `join` are open `cgroup.procs` files the
    /// process moves itself into before it runs anything (so that everything
    /// it starts is in those cgroups too).
    pub fn spawn(
        source: &str,
        path: &Path,
        args: &[String],
        cwd: &Path,
        env: &Env,
        rec: &Recorder,
        join: &[RawFd],
    ) -> anyhow::Result<Child> {
        let mut cmd = Command::new(path);
        cmd.args(args)
            .env_clear()
            .envs(env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, as Lambda's supervisor does, so that signals
            // reach the process and everything it started.
            .process_group(0)
            .kill_on_drop(true);
        if !join.is_empty() {
            let fds = join.to_vec();
            // SAFETY: between fork and exec only write(2) is called, on
            // descriptors opened before the fork; nothing allocates. Doing it
            // in the child, before exec, is the only way to have everything
            // the process starts in the cgroup too.
            #[allow(unsafe_code)]
            unsafe {
                cmd.pre_exec(move || {
                    for &fd in &fds {
                        // "0" moves the writing process (cgroup v1). The
                        // descriptor stays open in the parent for the whole run.
                        let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                        nix::unistd::write(fd, b"0").map_err(std::io::Error::from)?;
                    }
                    Ok(())
                });
            }
        }
        // The process starts at the spawn call: by the time spawn returns, it
        // may already have registered, so the event gets this instant.
        let spawning = std::time::Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {} ({})", source, path.display()))?;
        let pid = child.id().unwrap_or(0);
        rec.event_at(
            source,
            spawning,
            EventKind::Started {
                pid,
                path: path.display().to_string(),
            },
        );

        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(
                out,
                source.to_owned(),
                Stream::Stdout,
                rec.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(
                err,
                source.to_owned(),
                Stream::Stderr,
                rec.clone(),
            )));
        }
        let (tx, exit) = watch::channel(None);
        let rec = rec.clone();
        let name = source.to_owned();
        tokio::spawn(async move {
            let status = child.wait().await;
            let exit = match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    match (s.code(), s.signal()) {
                        (Some(c), _) => Exit::Code(c),
                        (None, Some(sig)) => Exit::Signal(sig),
                        (None, None) => Exit::Code(-1),
                    }
                }
                Err(_) => Exit::Code(-1),
            };
            let (code, signal) = match exit {
                Exit::Code(c) => (Some(c), None),
                Exit::Signal(s) => (None, Some(signal_name(s))),
            };
            rec.event(&name, EventKind::Exited { code, signal });
            let _ = tx.send(Some(exit));
        });
        Ok(Child {
            source: source.to_owned(),
            pid,
            exit,
            pumps,
        })
    }

    pub fn exited(&self) -> Option<Exit> {
        *self.exit.borrow()
    }

    /// Waits until the process exits, or `limit` passes. True if it exited.
    pub async fn wait_exit(&self, limit: Duration) -> bool {
        let mut rx = self.exit.clone();
        let exited = tokio::time::timeout(limit, rx.wait_for(|e| e.is_some())).await;
        matches!(exited, Ok(Ok(_)))
    }

    /// A receiver that turns `Some` when the process exits.
    pub fn exit_watch(&self) -> watch::Receiver<Option<Exit>> {
        self.exit.clone()
    }

    /// Sends `signal` to the process group, and records it.
    pub fn signal(&self, signal: Signal, rec: &Recorder) {
        rec.event(
            &self.source,
            EventKind::Signal {
                signal: signal.as_str().to_owned(),
            },
        );
        self.signal_quietly(signal);
    }

    /// Sends `signal` to the process group without recording it (clean-up):
    /// the leader and whatever it started, also after the leader has exited,
    /// so that a background child it left behind does not outlive the run.
    pub fn signal_quietly(&self, signal: Signal) {
        if let Some(pgid) = self.pgid() {
            // The group may already be empty (ESRCH): nothing to do then.
            let _ = killpg(pgid, signal);
        }
    }

    /// Whether any process of its group is alive (not a zombie waiting to be
    /// reaped): the leader, or what it left.
    pub fn group_alive(&self) -> bool {
        self.pgid().is_some_and(|pgid| {
            killpg(pgid, None).is_ok()
                && crate::settle::members_of_groups(&[pgid.as_raw()])
                    .into_iter()
                    .any(|pid| live_process(pid).is_some())
        })
    }

    /// The process group's id: the leader's pid (it was started with
    /// `process_group(0)`). Linux does not give a pid number to a new process
    /// while a process group still carries it, so as long as anything of the
    /// group lives, the id names exactly this group; once the group is empty,
    /// killpg fails with ESRCH. Never 0 or 1 (our own group, init).
    fn pgid(&self) -> Option<Pid> {
        i32::try_from(self.pid)
            .ok()
            .filter(|&p| p > 1)
            .map(Pid::from_raw)
    }

    /// Waits for the output pumps to reach end of file (bounded).
    pub async fn drain(&mut self, limit: Duration) {
        for pump in self.pumps.drain(..) {
            let _ = tokio::time::timeout(limit, pump).await;
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Never leave a process group behind, whatever happened.
        self.signal_quietly(Signal::SIGKILL);
    }
}

async fn pump(reader: impl AsyncRead + Unpin, source: String, stream: Stream, rec: Recorder) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                // Bytes that are not UTF-8 are shown, not a reason to stop reading.
                let line = String::from_utf8_lossy(&buf);
                rec.log(
                    &source,
                    stream,
                    line.trim_end_matches(['\n', '\r']).to_owned(),
                );
            }
        }
    }
}

/// A live (not zombie) process, from /proc: its process group and command name.
pub fn live_process(pid: i32) -> Option<(i32, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    // state ppid pgrp ...
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    (state != "Z" && state != "X").then_some((pgrp, name))
}

pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {sig}"))
}
