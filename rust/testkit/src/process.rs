//! Child processes for end-to-end tests: each in a process group of its own,
//! killed (the whole group) when the handle is dropped, waited on with
//! deadlines, and with output that can be waited on line by line.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::wait::wait_for;

/// What a child wrote on one stream, collected by a reader thread.
#[derive(Debug, Clone, Default)]
pub struct Output {
    text: Arc<Mutex<String>>,
    closed: Arc<Mutex<bool>>,
}

impl Output {
    /// Collect everything `stream` yields until it ends.
    pub fn collect(mut stream: impl Read + Send + 'static) -> Output {
        let output = Output::default();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0_u8; 8192];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock_text()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            *sink.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        });
        output
    }

    fn lock_text(&self) -> std::sync::MutexGuard<'_, String> {
        self.text.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything read so far.
    pub fn text(&self) -> String {
        self.lock_text().clone()
    }

    /// Whether the stream has ended (the process and its children closed it).
    pub fn is_closed(&self) -> bool {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for the first complete line that satisfies `pick`; returns it.
    pub fn wait_for_line(
        &self,
        what: &str,
        deadline: Duration,
        pick: impl Fn(&str) -> bool,
    ) -> String {
        wait_for(
            what,
            deadline,
            || {
                let text = self.lock_text();
                // Only whole lines: the last one may still be arriving.
                let whole = text.rfind('\n').map_or("", |end| &text[..end]);
                whole.lines().find(|l| pick(l)).map(str::to_owned)
            },
            || format!("output so far:\n{}", self.text()),
        )
    }

    /// Wait until the stream has ended (so the text is complete); returns the text.
    pub fn wait_closed(&self, deadline: Duration) -> String {
        wait_for(
            "the end of the output",
            deadline,
            || self.is_closed().then(|| self.text()),
            || format!("output so far:\n{}", self.text()),
        )
    }
}

/// A running child process. Dropping it SIGKILLs its whole process group
/// (if still running) and reaps it.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    /// Captured stdout, when started with [`Proc::spawn_captured`].
    pub stdout: Option<Output>,
    /// Captured stderr, when started with [`Proc::spawn_captured`].
    pub stderr: Option<Output>,
}

impl Proc {
    /// Start `cmd` in a new process group; its stdio is whatever `cmd` says.
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({:?}): {e}", cmd.get_program()));
        Proc {
            name: name.to_owned(),
            child,
            status: None,
            stdout: None,
            stderr: None,
        }
    }

    /// Start `cmd` with stdout and stderr collected ([`Proc::stdout`], [`Proc::stderr`]).
    pub fn spawn_captured(name: &str, cmd: &mut Command) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut proc = Proc::spawn(name, cmd);
        proc.stdout = proc.child.stdout.take().map(Output::collect);
        proc.stderr = proc.child.stderr.take().map(Output::collect);
        proc
    }

    /// Collect stdout, if `cmd` piped it and nothing took it yet.
    pub fn take_stdout(&mut self) -> Option<Output> {
        self.child.stdout.take().map(Output::collect)
    }

    /// Collect stderr, if `cmd` piped it and nothing took it yet.
    pub fn take_stderr(&mut self) -> Option<Output> {
        self.child.stderr.take().map(Output::collect)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"))
    }

    /// Send `signal` to the process (not its group).
    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal)
            .unwrap_or_else(|e| panic!("cannot send {signal} to {}: {e}", self.name));
    }

    /// The exit status, if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Wait for the exit; returns the status and when the exit was seen
    /// (polled every 0.2 ms). Fails the test after `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> (ExitStatus, Instant) {
        let end = Instant::now() + deadline;
        loop {
            if let Some(status) = self.try_exit() {
                return (status, Instant::now());
            }
            assert!(
                Instant::now() < end,
                "{} did not exit within {deadline:?}",
                self.name
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// SIGKILL the process group now and reap the process.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = killpg(self.pid(), Signal::SIGKILL);
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait");
        self.status = Some(status);
        status
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // The group may outlive the leader (children it started): kill it either way.
        let _ = killpg(self.pid(), Signal::SIGKILL);
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::DEADLINE;

    #[test]
    fn waits_for_a_line_then_the_exit() {
        let mut proc = Proc::spawn_captured(
            "sh",
            Command::new("sh")
                .args(["-c", "echo one; echo two >&2; read x; echo three"])
                .stdin(Stdio::piped()),
        );
        let out = proc.stdout.clone().expect("captured");
        assert_eq!(out.wait_for_line("one", DEADLINE, |l| l == "one"), "one");
        let err = proc.stderr.clone().expect("captured");
        err.wait_for_line("two", DEADLINE, |l| l == "two");
        drop(proc.child.stdin.take());
        let (status, _) = proc.wait_exit(DEADLINE);
        assert!(status.success());
        assert_eq!(out.wait_closed(DEADLINE), "one\nthree\n");
    }

    #[test]
    fn dropping_kills_the_whole_group() {
        let proc = Proc::spawn_captured(
            "sh",
            Command::new("sh").args(["-c", "sleep 600 & echo $!; wait"]),
        );
        let out = proc.stdout.clone().expect("captured");
        let grandchild: i32 = out
            .wait_for_line("the background pid", DEADLINE, |l| !l.is_empty())
            .parse()
            .expect("pid");
        drop(proc);
        crate::wait::wait_until(
            "the background sleep killed with its group",
            DEADLINE,
            || {
                // Reaped by init once killed; gone or a zombie.
                std::fs::read_to_string(format!("/proc/{grandchild}/stat")).map_or(true, |s| {
                    s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z'))
                })
            },
            String::new,
        );
    }
}
