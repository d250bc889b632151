//! `lambda-emulator` exits as `gracefulctl emulate` does (the policy of the
//! emulator's `cli` module): 2 for a wrong command line, before anything
//! runs, with the option named; 1 for a run whose init fails; 0 otherwise.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn emulator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .args(args)
        .output()
        .expect("run lambda-emulator")
}

/// A function directory whose `bootstrap` is `script`.
fn script_function(dir: &Path, script: &str) -> String {
    let fn_dir = dir.join("fn");
    std::fs::create_dir_all(&fn_dir).expect("function dir");
    let bootstrap = fn_dir.join("bootstrap");
    std::fs::write(&bootstrap, script).expect("bootstrap");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    fn_dir.display().to_string()
}

#[test]
fn a_wrong_command_line_exits_2_with_the_option_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fn_dir = script_function(dir.path(), "#!/bin/sh\nexit 0\n");
    for (args, says) in [
        (
            vec!["--function-dir", "/no/such/function"],
            "lambda-emulator: --function-dir: /no/such/function has no executable `bootstrap`",
        ),
        (
            vec!["--function-dir", &fn_dir, "--layer-dir", "/no/such/layer.zip"],
            "lambda-emulator: --layer-dir: /no/such/layer.zip is neither a directory nor a .zip file",
        ),
        (
            vec!["--function-dir", &fn_dir, "--env", "NO_EQUALS_SIGN"],
            "lambda-emulator: --env \"NO_EQUALS_SIGN\": expected KEY=VALUE",
        ),
    ] {
        let out = emulator(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "nothing ran: {args:?}");
    }
}

#[test]
fn a_run_whose_init_fails_exits_1_with_its_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fn_dir = script_function(dir.path(), "#!/bin/sh\nexit 3\n");
    let out = emulator(&["--function-dir", &fn_dir]);
    let timeline = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{timeline}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        timeline.contains("INIT FAILED Runtime.ExitError: the runtime exited during init"),
        "{timeline}"
    );
}
