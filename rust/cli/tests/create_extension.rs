//! `gracefulctl create-extension` with a built extension: the layer in both
//! forms, the settings beside it, what it prints, and exit code 1 when the
//! work itself fails. The release layer binaries of both architectures
//! (`scripts/build-layers.sh`) go through both forms, given with --binary and
//! built by create-extension itself on the warm cache.

mod common;

use common::{
    elf_machine, expected_elf_machine, extension_binary, layer_binary, native_arch, path_str, run,
    stdout_ok,
};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const ARCHS: [&str; 2] = ["arm64", "x86_64"];
const DEFAULT_SETTINGS: &str = "GRACEFUL_SHUTDOWN_PORT=4471\nGRACEFUL_SHUTDOWN_TIMEOUT_MS=250\n";

/// A zip layer holds exactly `extensions/` and `extensions/graceful-shutdown`
/// (mode 0755, these bytes, an ELF executable for `arch`).
fn assert_zip_layer(zip_path: &Path, binary: &[u8], arch: &str) {
    let mut zip =
        zip::ZipArchive::new(fs::File::open(zip_path).expect("open the zip")).expect("a zip");
    let mut names: Vec<String> = zip
        .file_names()
        .map(|n| n.expect("an entry name").into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["extensions/", "extensions/graceful-shutdown"],
        "{arch}"
    );
    let mut entry = zip
        .by_name("extensions/graceful-shutdown")
        .expect("the extension entry");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755), "{arch}");
    let mut body = Vec::new();
    entry.read_to_end(&mut body).expect("read entry");
    assert_eq!(
        elf_machine(&body),
        expected_elf_machine(arch),
        "{arch} zip entry"
    );
    assert!(body == binary, "the {arch} zip holds another binary");
}

/// A directory layer holds exactly `extensions/graceful-shutdown` (mode
/// 0755, these bytes, an ELF executable for `arch`).
fn assert_dir_layer(dir: &Path, binary: &[u8], arch: &str) {
    let names = |d: &Path| -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(d)
            .expect("read the layer")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(dir), ["extensions"], "{arch}");
    assert_eq!(
        names(&dir.join("extensions")),
        ["graceful-shutdown"],
        "{arch}"
    );
    let file = dir.join("extensions/graceful-shutdown");
    assert_eq!(
        fs::metadata(&file).expect("extension").permissions().mode() & 0o777,
        0o755,
        "{arch}"
    );
    let body = fs::read(&file).expect("read");
    assert_eq!(
        elf_machine(&body),
        expected_elf_machine(arch),
        "{arch} layer file"
    );
    assert!(body == binary, "the {arch} layer holds another binary");
}

#[test]
fn release_binaries_of_both_architectures_in_both_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    for arch in ARCHS {
        let ext = layer_binary(arch);
        let binary = fs::read(&ext).expect("read the layer binary");
        assert_eq!(
            elf_machine(&binary),
            expected_elf_machine(arch),
            "{} is not built for {arch}",
            ext.display()
        );

        let zip_path = dir
            .path()
            .join(format!("{arch}/graceful-shutdown-{arch}.zip"));
        let stdout = stdout_ok(&[
            "create-extension",
            "--arch",
            arch,
            "--binary",
            path_str(&ext),
            "--out",
            path_str(&zip_path),
        ]);
        assert!(
            stdout.starts_with(&format!(
                "layer:    {} ({arch}, extensions/graceful-shutdown from {}, {} bytes)\n",
                zip_path.display(),
                ext.display(),
                binary.len()
            )),
            "{stdout}"
        );
        assert_zip_layer(&zip_path, &binary, arch);
        assert_eq!(
            fs::read_to_string(
                dir.path()
                    .join(format!("{arch}/graceful-shutdown-{arch}.env"))
            )
            .expect("settings beside the zip"),
            DEFAULT_SETTINGS
        );

        let layer = dir.path().join(format!("{arch}/layer"));
        stdout_ok(&[
            "create-extension",
            "--arch",
            arch,
            "--binary",
            path_str(&ext),
            "--out",
            path_str(&layer),
        ]);
        assert_dir_layer(&layer, &binary, arch);
        assert_eq!(
            fs::read_to_string(dir.path().join(format!("{arch}/layer.env")))
                .expect("settings beside the directory"),
            DEFAULT_SETTINGS
        );
    }
}

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

/// Without --binary, create-extension builds the extension in the repository
/// with cargo-lambda. After `scripts/build-layers.sh` the cargo cache is warm
/// for both targets, so the build is cargo-lambda checking it (about a second
/// each). Both architectures in one test, one after the other: cargo-lambda
/// leaves each build at the same path, `<target>/lambda/extensions/graceful-shutdown`
/// (moved there from `<target>/<triple>/extension/`, so the next
/// `scripts/build-layers.sh` relinks the extension once).
#[test]
fn builds_the_extension_itself_for_both_architectures() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = common::target_dir()
        .parent()
        .expect("the target directory")
        .join("lambda/extensions/graceful-shutdown");
    let dir = tempfile::tempdir().expect("tempdir");
    for arch in ARCHS {
        layer_binary(arch); // the warm cache this relies on
        let zip_path = dir.path().join(format!("graceful-shutdown-{arch}.zip"));
        let out = common::gracefulctl()
            .args([
                "create-extension",
                "--arch",
                arch,
                "--source",
                path_str(&repo),
                "--out",
                path_str(&zip_path),
            ])
            // A guard against a hung build, not a timing check.
            .timeout(std::time::Duration::from_secs(900))
            .output()
            .expect("run gracefulctl");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "create-extension --arch {arch} without --binary failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.starts_with(&format!("layer:    {} ({arch}, ", zip_path.display()))
                && stdout.contains("/lambda/extensions/graceful-shutdown, "),
            "{stdout}"
        );
        let binary = fs::read(&built).expect("the binary cargo-lambda built");
        assert_zip_layer(&zip_path, &binary, arch);
        assert_eq!(
            fs::read_to_string(dir.path().join(format!("graceful-shutdown-{arch}.env")))
                .expect("settings beside the zip"),
            DEFAULT_SETTINGS
        );
    }
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
fn the_handoff_flavour_is_named_after_it() {
    // --handoff names the layer as the CDK construct's package names the
    // flavour's zip; the binary in it is the same entry, extensions/graceful-shutdown.
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = extension_binary();
    let out = common::gracefulctl()
        .current_dir(dir.path())
        .args([
            "create-extension",
            "--arch",
            native_arch(),
            "--handoff",
            "--binary",
            path_str(&ext),
        ])
        .output()
        .expect("run gracefulctl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip = format!("graceful-shutdown-handoff-{}.zip", native_arch());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&format!(
            "layer:    {zip} ({}, extensions/graceful-shutdown from ",
            native_arch()
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_zip_layer(
        &dir.path().join(&zip),
        &fs::read(&ext).expect("binary"),
        native_arch(),
    );
    assert!(dir
        .path()
        .join(format!("graceful-shutdown-handoff-{}.env", native_arch()))
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
        "[default: graceful-shutdown-<arch>.zip, with --handoff graceful-shutdown-handoff-<arch>.zip]",
        "--handoff",
        "sends the HTTP requests the function hands off",
        "--port <N>",
        "9001 is the Lambda Runtime API",
        "--timeout-ms <N>",
        "which Lambda stops about 300 ms after SIGTERM",
        "--metrics <METRICS>",
        "Exit codes:",
        "1  the work failed (the cargo-lambda build, writing the layer or the settings file)",
        "2  the command line is wrong",
        "a --binary that is missing, unreadable",
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
        "--handoff",
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
    let options = options_with_help(&help);
    let expected = [
        (
            "--function-dir <DIR>",
            "the function's executable `bootstrap`",
        ),
        ("--runtime <RUNTIME>", "managed runtime's official client"),
        ("--handler <HANDLER>", "The function's handler"),
        ("--max-concurrency <N>", "Lambda Managed Instances"),
        ("--layer-dir <DIR|ZIP>", "holding extensions/<name>"),
        ("--event <FILE|->", "a JSON file, or `-` for standard input"),
        ("--invocations <N>", "Number of invocations"),
        (
            "--env <KEY=VALUE>",
            "An environment variable for the function",
        ),
        ("--timeout-ms <MS>", "The function timeout, in milliseconds"),
        ("--init-timeout-ms <MS>", "How long the init may take"),
        ("--runtime-share-ms <MS>", "between SIGTERM and SIGKILL"),
        ("--shutdown-ms <MS>", "The whole shutdown phase"),
        ("--memory-mb <MB>", "memory size, in MB"),
        ("--idle-ms <MS>", "How long the idle environment waits"),
        ("--no-freeze", "Do not freeze the idle environment"),
        ("--freeze-with-signals", "SIGSTOP/SIGCONT"),
        ("--function-name <NAME>", "The function's name"),
        ("--json", "Print the timeline as JSON"),
        ("-h, --help", "Print help"),
    ];
    assert_eq!(
        options.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
        expected.map(|(o, _)| o),
        "the emulate options changed: give the new one a help text and list it here\n{help}"
    );
    for ((option, text), (_, phrase)) in options.iter().zip(expected) {
        assert!(
            text.contains(phrase),
            "emulate --help: {option} says {text:?}, not {phrase:?}"
        );
    }
    for text in [
        "Example: gracefulctl emulate --function-dir fn/",
        "Exit codes:",
        "1  init failed, an invocation was not answered",
        "2  the command line is wrong",
    ] {
        assert!(
            help.contains(text),
            "emulate --help lacks {text:?}:\n{help}"
        );
    }
    // And no option of any command goes without a help text.
    for command in ["create-extension", "render", "emulate"] {
        let help = stdout_ok(&[command, "--help"]);
        let options = options_with_help(&help);
        assert!(
            options.len() > 3,
            "{command} --help lists no options:\n{help}"
        );
        for (option, text) in options {
            assert!(
                !text.is_empty(),
                "{command} --help: {option} has no help text:\n{help}"
            );
        }
    }
}

/// The options in the `Options:` section of a help text, each with its help
/// (on the same line in the short form, on the lines below in the long one),
/// without the `[default: ...]` and `[possible values: ...]` notes.
fn options_with_help(help: &str) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = Vec::new();
    let mut lines = help.lines().skip_while(|l| *l != "Options:").skip(1);
    for line in lines.by_ref() {
        if !line.is_empty() && !line.starts_with(' ') {
            break; // the next section
        }
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if text.starts_with('-') && indent <= 6 {
            let (option, rest) = text.split_once("  ").unwrap_or((text, ""));
            options.push((option.to_owned(), rest.trim().to_owned()));
        } else if let Some((_, help)) = options.last_mut() {
            let note = text.starts_with("[default:") || text.starts_with("[possible values:");
            if !text.is_empty() && !note {
                if !help.is_empty() {
                    help.push(' ');
                }
                help.push_str(text);
            }
        }
    }
    options
}
