//! `lambda-emulator` and `gracefulctl emulate` exit alike (the one policy of
//! the `gracefulctl` crate's `emulate` module, which both binaries run): 2 for
//! a wrong command line, before anything runs, with the option named; 1 for a
//! run whose init fails; and their help lists the same exit codes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// Both entry points, each with `args` after its own command.
fn both(args: &[&str]) -> [(&'static str, Output); 2] {
    let gracefulctl = graceful_shutdown_testkit::built("gracefulctl", "cargo build -p gracefulctl");
    let lambda_emulator = graceful_shutdown_testkit::built(
        "lambda-emulator",
        "cargo build -p gracefulctl --bin lambda-emulator",
    );
    let run = |mut command: Command| command.args(args).output().expect("run the emulator");
    let mut emulate = Command::new(gracefulctl);
    emulate.arg("emulate");
    [
        ("lambda-emulator", run(Command::new(lambda_emulator))),
        ("gracefulctl emulate", run(emulate)),
    ]
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
            "--function-dir: /no/such/function has no executable `bootstrap`",
        ),
        (
            vec![
                "--function-dir",
                &fn_dir,
                "--layer-dir",
                "/no/such/layer.zip",
            ],
            "--layer-dir: /no/such/layer.zip is neither a directory nor a .zip file",
        ),
        (
            vec!["--function-dir", &fn_dir, "--env", "NO_EQUALS_SIGN"],
            "--env \"NO_EQUALS_SIGN\": expected KEY=VALUE",
        ),
    ] {
        for (entry, out) in both(&args) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{entry} {args:?}: {stderr}");
            assert!(stderr.contains(says), "{entry} {args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{entry}: nothing ran for {args:?}");
        }
    }
}

#[test]
fn a_run_whose_init_fails_exits_1_with_its_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fn_dir = script_function(dir.path(), "#!/bin/sh\nexit 3\n");
    for (entry, out) in both(&["--function-dir", &fn_dir]) {
        let timeline = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{entry}: {timeline}\n{stderr}");
        assert!(
            timeline.contains("INIT FAILED Runtime.ExitError: the runtime exited during init"),
            "{entry}: {timeline}"
        );
    }
}

/// The exit-code section of a `--help` text.
fn exit_codes_help(help: &str) -> &str {
    let at = help
        .find("Exit codes:")
        .expect("the help lists the exit codes");
    &help[at..]
}

#[test]
fn both_entry_points_document_the_same_exit_codes() {
    let [(_, lambda_emulator), (_, gracefulctl)] = both(&["--help"]);
    for out in [&lambda_emulator, &gracefulctl] {
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let lambda_emulator = String::from_utf8_lossy(&lambda_emulator.stdout);
    let gracefulctl = String::from_utf8_lossy(&gracefulctl.stdout);
    assert_eq!(
        exit_codes_help(&lambda_emulator),
        exit_codes_help(&gracefulctl)
    );
    assert!(exit_codes_help(&lambda_emulator).contains("2  the command line is wrong"));
}
