//! Helpers shared by gracefulctl's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The gracefulctl binary cargo built for these tests.
pub fn gracefulctl() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_gracefulctl"))
}

/// Runs gracefulctl with `args` and returns its output, whatever the status.
pub fn run(args: &[&str]) -> Output {
    gracefulctl().args(args).output().expect("run gracefulctl")
}

/// stdout of a successful run.
pub fn stdout_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "gracefulctl {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The `target/debug` directory this test runs from.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n == "debug" || n == "release")
        })
        .expect("the test executable is not under target/debug or target/release")
        .to_path_buf()
}

/// A binary another package builds, or a failure that says how to build it.
pub fn built(relative: &str, build_command: &str) -> PathBuf {
    let path = target_dir().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `{build_command}` first (scripts/test.d/05-build.sh builds everything)",
        path.display()
    );
    path
}

/// The extension binary (debug build, native architecture).
pub fn extension_binary() -> PathBuf {
    built(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    )
}

/// The architecture name of the machine the tests run on.
pub fn native_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
