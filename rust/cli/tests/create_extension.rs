//! `gracefulctl create-extension` with a built extension: the layer in both
//! forms, the settings beside it, what it prints, and exit code 1 when the
//! work itself fails.

mod common;

use common::{extension_binary, native_arch, path_str, run, stdout_ok};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

#[test]
fn zip_layer_with_settings_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = extension_binary();
    let zip_path = dir.path().join("dist/graceful-shutdown.zip");
    let stdout = stdout_ok(&[
        "create-extension",
        "--arch",
        native_arch(),
        "--binary",
        path_str(&ext),
        "--out",
        path_str(&zip_path),
        "--port",
        "20000",
        "--timeout-ms",
        "120",
        "--metrics",
        "emf",
    ]);
    let settings = "GRACEFUL_SHUTDOWN_PORT=20000\nGRACEFUL_SHUTDOWN_TIMEOUT_MS=120\nGRACEFUL_SHUTDOWN_METRICS=emf\n";
    let env_path = dir.path().join("dist/graceful-shutdown.env");
    assert_eq!(
        fs::read_to_string(&env_path).expect("settings file"),
        settings
    );
    let bytes = fs::metadata(&ext).expect("meta").len();
    assert_eq!(
        stdout,
        format!(
            "layer:    {} ({}, extensions/graceful-shutdown from {}, {bytes} bytes)\n\
             settings: {}\n\
             Set these environment variables on every function that uses the layer:\n{settings}",
            zip_path.display(),
            native_arch(),
            ext.display(),
            env_path.display()
        )
    );

    let mut zip = zip::ZipArchive::new(fs::File::open(&zip_path).expect("open")).expect("a zip");
    assert_eq!(zip.len(), 2);
    let mut entry = zip
        .by_name("extensions/graceful-shutdown")
        .expect("the extension entry");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut body = Vec::new();
    entry.read_to_end(&mut body).expect("read entry");
    assert!(
        body == fs::read(&ext).expect("read binary"),
        "the zip holds another binary"
    );
}

#[test]
fn directory_layer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = extension_binary();
    let out = dir.path().join("layer");
    stdout_ok(&[
        "create-extension",
        "--arch",
        native_arch(),
        "--binary",
        path_str(&ext),
        "--out",
        path_str(&out),
    ]);
    let file = out.join("extensions/graceful-shutdown");
    assert_eq!(
        fs::metadata(&file).expect("extension").permissions().mode() & 0o777,
        0o755
    );
    assert_eq!(
        fs::read(&file).expect("read"),
        fs::read(&ext).expect("read")
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("layer.env")).expect("settings beside the layer"),
        "GRACEFUL_SHUTDOWN_PORT=4471\nGRACEFUL_SHUTDOWN_TIMEOUT_MS=250\n"
    );
    assert_eq!(
        fs::read_dir(&out).expect("layer").count(),
        1,
        "only extensions/ in the layer"
    );
}

#[test]
fn default_output_is_named_after_the_architecture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = extension_binary();
    common::gracefulctl()
        .current_dir(dir.path())
        .args([
            "create-extension",
            "--arch",
            native_arch(),
            "--binary",
            path_str(&ext),
        ])
        .assert()
        .success();
    let zip = format!("graceful-shutdown-{}.zip", native_arch());
    assert!(dir.path().join(&zip).is_file(), "{zip} missing");
    assert!(dir
        .path()
        .join(format!("graceful-shutdown-{}.env", native_arch()))
        .is_file());
}

#[test]
fn a_failed_write_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("file");
    fs::write(&blocker, "not a directory").expect("write");
    let ext = extension_binary();
    let out = run(&[
        "create-extension",
        "--arch",
        native_arch(),
        "--binary",
        path_str(&ext),
        "--out",
        path_str(&blocker.join("layer.zip")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: creating {}", blocker.display())),
        "{stderr}"
    );
}

#[test]
fn a_failed_build_exits_1_and_says_what_to_install() {
    // A workspace without the extension package: cargo-lambda (or cargo,
    // when cargo-lambda is missing) fails, and gracefulctl says why.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").expect("write");
    let out = run(&[
        "create-extension",
        "--arch",
        "arm64",
        "--source",
        path_str(dir.path()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: `cargo lambda build --profile extension --extension -p graceful-shutdown-extension \
             --target aarch64-unknown-linux-musl` failed in"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("or pass --binary with a built extension"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn help_explains_every_option_and_the_exit_codes() {
    let help = stdout_ok(&["create-extension", "--help"]);
    for text in [
        "--arch <ARCH>",
        "--binary <PATH>",
        "--source <DIR>",
        "cargo lambda build --profile extension --extension -p graceful-shutdown-extension",
        "--out <DIR|FILE.zip>",
        "[default: graceful-shutdown-<arch>.zip]",
        "--port <N>",
        "9001 is the Lambda Runtime API",
        "--timeout-ms <N>",
        "which Lambda stops about 300 ms after SIGTERM",
        "--metrics <METRICS>",
        "Exit codes:",
        "2  the command line is wrong",
    ] {
        assert!(
            help.contains(text),
            "create-extension --help lacks {text:?}:\n{help}"
        );
    }
    let help = stdout_ok(&["render", "--help"]);
    for text in [
        "sam",
        "cloudformation",
        "terraform",
        "zip",
        "--layer-arn <ARN>",
        "--layer-zip <FILE.zip>",
        "--layer-name <NAME>",
        "--function-name <NAME>",
        "--function-code <PATH>",
        "--runtime <ID>",
        "--handler <HANDLER>",
        "--port <N>",
        "--timeout-ms <N>",
        "Exit codes:",
    ] {
        assert!(help.contains(text), "render --help lacks {text:?}:\n{help}");
    }
    let help = stdout_ok(&["emulate", "--help"]);
    assert!(
        help.contains("--function-dir <DIR>") && help.contains("Exit codes:"),
        "{help}"
    );
}
