//! The init phase: the extensions started and registered, then the runtime
//! started, until everyone calls `next`; or the init's failure.

use std::time::Instant;

use crate::api::State;
use crate::environment;
use crate::process::{Child, Exit};
use crate::timeline::{EventKind, PLATFORM, RUNTIME};

use super::Emulator;

/// How the init phase ended, when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFailure {
    pub error_type: String,
    pub message: String,
}

impl Emulator {
    /// The init phase: start the extensions, wait for them to register, start
    /// the runtime, wait for everyone to call `next`. Capped at `init_cap`.
    pub async fn init(&mut self) -> Result<(), InitFailure> {
        let started = Instant::now();
        let cap = started + self.scenario.init_cap;
        let result = self.init_inner(cap).await;
        self.platform.lock().registration_open = false;
        match &result {
            Ok(()) => self.rec.event(
                PLATFORM,
                EventKind::InitDone {
                    duration_ms: started.elapsed().as_millis() as u64,
                },
            ),
            Err(f) => self.rec.event(
                PLATFORM,
                EventKind::InitFailed {
                    error_type: f.error_type.clone(),
                    message: f.message.clone(),
                },
            ),
        }
        result
    }

    async fn init_inner(&mut self, cap: Instant) -> Result<(), InitFailure> {
        let ext_env = environment::extension(&self.scenario, &self.address);
        for (name, path) in self.layout.extensions.clone() {
            match self.spawn(&name, &path, &[], &ext_env) {
                Ok(child) => self.extensions.push(child),
                Err(e) => {
                    return Err(InitFailure {
                        error_type: "Extension.LaunchError".to_owned(),
                        message: format!("{e:#}"),
                    })
                }
            }
        }
        // Lambda starts the runtime once every external extension has registered.
        let registered = self
            .wait_for(cap, |st, me| {
                if let Some(e) = Self::reported_init_error(st) {
                    return Some(Err(e));
                }
                if st.expected.iter().all(|n| st.agent_by_name(n).is_some()) {
                    return Some(Ok(()));
                }
                me.extension_crash().map(Err)
            })
            .await;
        match registered {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(self.init_timeout("waiting for extensions to register")),
        }

        let rt_env = environment::runtime(&self.scenario, &self.address, &self.layout.layer_roots);
        let bootstrap = self.layout.bootstrap.clone();
        let args = self.layout.bootstrap_args.clone();
        match self.spawn(RUNTIME, &bootstrap, &args, &rt_env) {
            Ok(child) => self.runtime = Some(child),
            Err(e) => {
                return Err(InitFailure {
                    error_type: "Runtime.InvalidEntrypoint".to_owned(),
                    message: format!("{e:#}"),
                })
            }
        }
        let ready = self
            .wait_for(cap, |st, me| {
                if let Some(e) = Self::reported_init_error(st) {
                    return Some(Err(e));
                }
                if let Some(rt) = me.runtime.as_ref().and_then(|c| c.exited()) {
                    return Some(Err(InitFailure {
                        error_type: "Runtime.ExitError".to_owned(),
                        message: format!(
                            "the runtime exited during init ({})",
                            describe_exit(Some(rt))
                        ),
                    }));
                }
                if let Some(e) = me.extension_crash() {
                    return Some(Err(e));
                }
                (st.runtime_ready && st.agents.iter().all(|a| a.ready)).then_some(Ok(()))
            })
            .await;
        match ready {
            Some(r) => r,
            None => {
                Err(self.init_timeout("waiting for the runtime and the extensions to call next"))
            }
        }
    }

    fn init_timeout(&self, what: &str) -> InitFailure {
        InitFailure {
            error_type: "Runtime.InitTimeout".to_owned(),
            message: format!(
                "init did not finish within {} ms ({what})",
                self.scenario.init_cap.as_millis()
            ),
        }
    }

    fn spawn(
        &self,
        source: &str,
        path: &std::path::Path,
        args: &[String],
        env: &environment::Env,
    ) -> anyhow::Result<Child> {
        let child = Child::spawn(
            source,
            path,
            args,
            &self.scenario.function_dir,
            env,
            &self.rec,
            &self.cgroups.join_fds(),
        )?;
        // Wake whoever waits on the platform when the process exits.
        let mut exit = child.exit_watch();
        let platform = self.platform.clone();
        tokio::spawn(async move {
            let _ = exit.wait_for(|e| e.is_some()).await;
            platform.bump();
        });
        Ok(child)
    }

    fn extension_crash(&self) -> Option<InitFailure> {
        self.extensions
            .iter()
            .find(|c| c.exited().is_some())
            .map(|c| InitFailure {
                error_type: "Extension.Crash".to_owned(),
                message: format!(
                    "extension {} exited during init ({})",
                    c.source,
                    describe_exit(c.exited())
                ),
            })
    }

    fn reported_init_error(st: &State) -> Option<InitFailure> {
        st.init_errors.first().map(|e| InitFailure {
            error_type: e.error_type.clone(),
            message: format!("{} reported /init/error {}", e.source, e.error_type),
        })
    }
}

fn describe_exit(exit: Option<Exit>) -> String {
    match exit {
        Some(Exit::Code(c)) => format!("exit code {c}"),
        Some(Exit::Signal(s)) => format!("killed by {}", crate::process::signal_name(s)),
        None => "still running".to_owned(),
    }
}
