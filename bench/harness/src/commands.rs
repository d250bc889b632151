//! Timing whole commands (`cdk synth`, a cold build of the layer).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

/// Runs `script` with `bash -c` in `dir`, its output appended to `log`, and
/// returns its wall time in seconds. `env` is added to the inherited environment.
pub fn time_shell(
    script: &str,
    dir: &Path,
    env: &[(&str, &OsStr)],
    log: &Path,
) -> anyhow::Result<f64> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone()?;
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let began = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("starting `{script}`"))?;
    let secs = began.elapsed().as_secs_f64();
    if !status.success() {
        bail!(
            "`{script}` failed ({status}); its output is in {}",
            log.display()
        );
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_a_command_and_reports_a_failure_with_its_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let secs = time_shell("echo hi", dir.path(), &[], &log).expect("echo");
        assert!(secs >= 0.0);
        assert_eq!(std::fs::read_to_string(&log).expect("log"), "hi\n");
        let e = time_shell("echo oops >&2; exit 3", dir.path(), &[], &log).expect_err("exit 3");
        assert!(e.to_string().contains(&log.display().to_string()), "{e}");
        assert!(std::fs::read_to_string(&log).expect("log").contains("oops"));
    }
}
