//! Every bad option value, tried: gracefulctl exits 2 and its message names
//! the option, what was expected, and the fix. And the contrast: a good
//! command line whose work fails exits 1.

mod common;

use common::{extension_binary, native_arch, path_str, run};

const PORT_RANGE: &str = "expected a port number from 1024 to 65535; use another port, for \
                          example the default 4471 (the value becomes GRACEFUL_SHUTDOWN_PORT)";
const TIMEOUT: &str = "expected whole milliseconds from 1 to 280, because the handlers run in the \
                       runtime process, which Lambda stops about 300 ms after SIGTERM, and the \
                       last reports and the exit need 20 ms of that; use for example the default \
                       250 (the value becomes GRACEFUL_SHUTDOWN_TIMEOUT_MS)";
const ARN_EXAMPLE: &str = "expected a layer version ARN such as \
                           arn:aws:lambda:eu-west-1:123456789012:layer:graceful-shutdown-arm64:1";

/// Runs `args` and checks exit code 2 and that stderr has every `expected` part.
fn refused(args: &[&str], expected: &[&str]) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "gracefulctl {args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "gracefulctl {args:?} printed to stdout"
    );
    for part in expected {
        assert!(
            stderr.contains(part),
            "gracefulctl {args:?}\nexpected: {part}\nstderr:   {stderr}"
        );
    }
}

/// The settings options are the same on both commands, so each bad value is
/// tried on both.
#[test]
fn settings_values_on_every_command() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--port", "9001"],
            &[
                "invalid value '9001' for '--port <N>': port 9001 is used by the Lambda Runtime \
               API; use another port, for example the default 4471 (the value becomes \
               GRACEFUL_SHUTDOWN_PORT)",
            ],
        ),
        (
            &["--port", "8080"],
            &["for '--port <N>': port 8080 is used by the AWS Lambda Web Adapter;"],
        ),
        (
            &["--port", "2773"],
            &["port 2773 is used by the AWS Parameters and Secrets extension;"],
        ),
        (
            &["--port", "4317"],
            &["port 4317 is used by the OpenTelemetry collector (gRPC);"],
        ),
        (
            &["--port", "8125"],
            &["port 8125 is used by the Datadog extension (DogStatsD);"],
        ),
        (
            &["--port", "80"],
            &["invalid value '80' for '--port <N>': ", PORT_RANGE],
        ),
        (
            &["--port", "1023"],
            &["invalid value '1023' for '--port <N>': ", PORT_RANGE],
        ),
        (
            &["--port", "65536"],
            &["invalid value '65536' for '--port <N>': ", PORT_RANGE],
        ),
        (
            &["--port=-1"],
            &["invalid value '-1' for '--port <N>': ", PORT_RANGE],
        ),
        (
            &["--port", "abc"],
            &["invalid value 'abc' for '--port <N>': ", PORT_RANGE],
        ),
        (
            &["--port="],
            &["invalid value '' for '--port <N>': ", PORT_RANGE],
        ),
        (
            &["--port"],
            &["a value is required for '--port <N>' but none was supplied"],
        ),
        (
            &["--timeout-ms", "0"],
            &["invalid value '0' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--timeout-ms", "281"],
            &["invalid value '281' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--timeout-ms", "300"],
            &["invalid value '300' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--timeout-ms", "2000"],
            &["invalid value '2000' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--timeout-ms", "250ms"],
            &["invalid value '250ms' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--timeout-ms", "1.5"],
            &["invalid value '1.5' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--timeout-ms=-5"],
            &["invalid value '-5' for '--timeout-ms <N>': ", TIMEOUT],
        ),
        (
            &["--arch", "arm"],
            &[
                "invalid value 'arm' for '--arch <ARCH>'",
                "[possible values: arm64, x86_64]",
                "a similar value exists: 'arm64'",
            ],
        ),
        (
            &["--arch", "aarch64"],
            &[
                "invalid value 'aarch64' for '--arch <ARCH>'",
                "[possible values: arm64, x86_64]",
            ],
        ),
        (
            &["--metrics", "yes"],
            &[
                "invalid value 'yes' for '--metrics <METRICS>'",
                "[possible values: off, emf]",
            ],
        ),
    ];
    for command in [
        &["render", "sam"][..],
        &["create-extension", "--binary", "unused"],
    ] {
        for (bad, expected) in cases {
            let args: Vec<&str> = command.iter().chain(bad.iter()).copied().collect();
            refused(&args, expected);
        }
    }
}

#[test]
fn render_values() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["helm"], &["invalid value 'helm' for '<FORMAT>'", "[possible values: sam, cloudformation, terraform, zip]"]),
        (&["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:layer:gs"], &["for '--layer-arn <ARN>': the ARN has 7 colon-separated fields, not 8; ", ARN_EXAMPLE]),
        (&["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:layer:gs:latest"], &["for '--layer-arn <ARN>': the ARN must end with the layer version number (publish-layer-version prints it); ", ARN_EXAMPLE]),
        (&["--layer-arn", "arn:aws:lambda:eu-west-1:1234:layer:gs:1"], &["for '--layer-arn <ARN>': \"1234\" is not a 12-digit account id; ", ARN_EXAMPLE]),
        (&["--layer-arn", "arn:aws:lambda:EU:123456789012:layer:gs:1"], &["for '--layer-arn <ARN>': \"EU\" is not a region; "]),
        (&["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:function:gs:1"], &["for '--layer-arn <ARN>': this is not a Lambda layer ARN; "]),
        (&["--layer-arn", "urn:aws:lambda:eu-west-1:123456789012:layer:gs:1"], &["for '--layer-arn <ARN>': the ARN must start with arn:aws; "]),
        (&["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:layer:g s:1"], &["for '--layer-arn <ARN>': \"g s\" is not a layer name; "]),
        (
            &["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:layer:gs:1", "--layer-zip", "x.zip"],
            &["the argument '--layer-arn <ARN>' cannot be used with '--layer-zip <FILE.zip>'"],
        ),
        (
            &["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:layer:gs:1", "--layer-name", "x"],
            &["the argument '--layer-arn <ARN>' cannot be used with '--layer-name <NAME>'"],
        ),
        (
            &["--layer-arn", "arn:aws:lambda:eu-west-1:123456789012:layer:gs:1", "--handoff"],
            &["the argument '--layer-arn <ARN>' cannot be used with '--handoff'"],
        ),
        (&["--layer-zip="], &["invalid value '' for '--layer-zip <FILE.zip>': expected a non-empty path without control characters"]),
        (&["--layer-name", "a/b"], &["for '--layer-name <NAME>': '/' is not allowed in a name; a layer name is 1 to 140 letters, digits, '-' or '_', for example graceful-shutdown-arm64"]),
        (&["--layer-name", &"n".repeat(141)], &["for '--layer-name <NAME>': the name has 141 characters; a layer name is 1 to 140"]),
        (&["--function-name="], &["invalid value '' for '--function-name <NAME>': the name is empty; a function name is 1 to 64 letters, digits, '-' or '_', for example my-function"]),
        (&["--function-name", &"f".repeat(65)], &["for '--function-name <NAME>': the name has 65 characters; a function name is 1 to 64"]),
        (&["--function-name", "my.function"], &["for '--function-name <NAME>': '.' is not allowed in a name;"]),
        (&["--function-code="], &["invalid value '' for '--function-code <PATH>': expected a non-empty path without control characters"]),
        (&["--function-code", "a\nb"], &["for '--function-code <PATH>': expected a non-empty path without control characters"]),
        (&["--runtime", "Python3.13"], &["invalid value 'Python3.13' for '--runtime <ID>': expected a Lambda runtime identifier such as provided.al2023, nodejs22.x or python3.13"]),
        (&["--runtime", "node 22"], &["for '--runtime <ID>': expected a Lambda runtime identifier"]),
        (&["--handler", "a b"], &["invalid value 'a b' for '--handler <HANDLER>': expected 1 to 128 characters without spaces or quotes, for example bootstrap or index.handler"]),
        (&["--handler", "x\"y"], &["for '--handler <HANDLER>': expected 1 to 128 characters"]),
        (&["--handler", &"h".repeat(129)], &["for '--handler <HANDLER>': expected 1 to 128 characters"]),
        (&["--binary", "x"], &["unexpected argument '--binary' found"]),
    ];
    for (bad, expected) in cases {
        let mut args = vec!["render"];
        if !bad[0].starts_with("helm") {
            args.push("sam");
        }
        args.extend_from_slice(bad);
        refused(&args, expected);
    }
    refused(
        &["render"],
        &[
            "the following required arguments were not provided:",
            "<FORMAT>",
        ],
    );
    refused(&["frobnicate"], &["unrecognized subcommand 'frobnicate'"]);
}

#[test]
fn create_extension_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("not-a-binary");
    std::fs::write(
        &script,
        "#!/bin/sh\necho I am a script, not an ELF executable\n",
    )
    .expect("write");
    let ext = extension_binary();
    let native = native_arch();
    let other = if native == "x86_64" {
        "arm64"
    } else {
        "x86_64"
    };
    let out = dir.path().join("layer.zip");
    let out = path_str(&out);

    refused(
        &[
            "create-extension",
            "--binary",
            "/no/such/extension",
            "--out",
            out,
        ],
        &[
            "error: --binary /no/such/extension: No such file or directory (os error 2); pass the \
             extension built by `cargo lambda build --profile extension --extension -p \
             graceful-shutdown-extension --target aarch64-unknown-linux-musl`",
            "or leave out --binary to build it",
        ],
    );
    refused(
        &[
            "create-extension",
            "--binary",
            path_str(dir.path()),
            "--out",
            out,
        ],
        &[
            "--binary",
            "not a file; pass the extension executable itself",
        ],
    );
    refused(
        &["create-extension", "--binary", path_str(&script), "--out", out],
        &["is not a 64-bit Linux executable (ELF); Lambda runs extensions/graceful-shutdown as a native program, so pass the built extension binary"],
    );
    refused(
        &["create-extension", "--arch", other, "--binary", path_str(&ext), "--out", out],
        &[&format!("is built for {native}, but --arch is {other}; pass --arch {native}, or a binary built for {other}")],
    );
    refused(
        &["create-extension", "--arch", native, "--binary", path_str(&ext), "--out", "/"],
        &["error: --out /: the layer needs a name of its own; use for example --out layer or --out layer.zip"],
    );
    refused(
        &[
            "create-extension",
            "--arch",
            native,
            "--binary",
            path_str(&ext),
            "--out",
            "..",
        ],
        &["error: --out ..: the layer needs a name of its own;"],
    );
    refused(
        &["create-extension", "--out="],
        &["a value is required for '--out <DIR|FILE.zip>' but none was supplied"],
    );
    refused(
        &["create-extension", "--source", path_str(dir.path()), "--out", out],
        &["there is no Cargo.toml there; pass the repository root with --source, or a built extension with --binary"],
    );
    refused(
        &[
            "create-extension",
            "--binary",
            path_str(&ext),
            "--source",
            ".",
        ],
        &["the argument '--binary <PATH>' cannot be used with '--source <DIR>'"],
    );
    refused(
        &["create-extension", "--format", "sam"],
        &["unexpected argument '--format' found"],
    );
    assert!(
        !dir.path().join("layer.zip").exists(),
        "a refused command wrote a layer"
    );
}

#[test]
fn emulate_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fn_dir = path_str(dir.path());
    let not_json = dir.path().join("event.json");
    std::fs::write(&not_json, "{\"writes\": [\"order-1\",").expect("write");
    let not_json = path_str(&not_json).to_owned();
    let not_json_message =
        format!("error: --event {not_json}: not valid JSON; Lambda payloads are JSON documents");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--invocations", "0"],
            "error: --invocations 0: send at least one invocation",
        ),
        (
            &["--env", "NOVALUE"],
            "error: --env \"NOVALUE\": expected KEY=VALUE",
        ),
        (
            &["--env", "=1"],
            "error: --env \"=1\": the variable name before `=` is empty; put the name first, \
             for example --env GRACEFUL_SHUTDOWN_TIMEOUT_MS=200",
        ),
        (
            &["--memory-mb", "64"],
            "error: --memory-mb 64: Lambda allows 128 to 10240; use a size in that range, for \
             example the default 128",
        ),
        (
            &["--memory-mb", "10241"],
            "error: --memory-mb 10241: Lambda allows 128 to 10240; use a size in that range,",
        ),
        (
            &["--memory-mb", "big"],
            "invalid value 'big' for '--memory-mb <MB>'",
        ),
        (
            &["--shutdown-ms", "0"],
            "error: --shutdown-ms 0: the shutdown phase must be at least 1 ms (Lambda gives 2000)",
        ),
        (
            &["--timeout-ms", "0"],
            "error: --timeout-ms 0: the function timeout must be at least 1 ms",
        ),
        (
            &["--init-timeout-ms", "0"],
            "error: --init-timeout-ms 0: the init must be given at least 1 ms (Lambda gives 10000)",
        ),
        (
            &["--init-timeout-ms", "soon"],
            "invalid value 'soon' for '--init-timeout-ms <MS>'",
        ),
        (
            &["--shutdown-ms", "100", "--runtime-share-ms", "300"],
            "--runtime-share-ms 300 is longer than --shutdown-ms 100",
        ),
        (
            &["--event", "/no/such/event.json"],
            "error: --event /no/such/event.json: cannot read the file",
        ),
        (&["--event", not_json.as_str()], not_json_message.as_str()),
        (
            &["--invocations", "many"],
            "invalid value 'many' for '--invocations <N>'",
        ),
    ];
    for (bad, expected) in cases {
        let mut args = vec!["emulate", "--function-dir", fn_dir];
        args.extend_from_slice(bad);
        refused(&args, &[expected]);
    }
    refused(
        &["emulate"],
        &[
            "the following required arguments were not provided:",
            "--function-dir <DIR>",
        ],
    );
}

/// A function directory holding an executable `bootstrap` shell script.
fn script_function(root: &std::path::Path, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("fn");
    std::fs::create_dir_all(&dir).expect("fn dir");
    let bootstrap = dir.join("bootstrap");
    std::fs::write(&bootstrap, script).expect("write bootstrap");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The function and layer paths are part of the command line: a wrong one
/// exits 2 before anything starts, with the option named.
#[test]
fn emulate_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("empty dir");
    let fn_dir = script_function(dir.path(), "#!/bin/sh\nexit 0\n");
    let fn_dir = path_str(&fn_dir);

    refused(
        &["emulate", "--function-dir", "/no/such/function"],
        &[
            "error: --function-dir: /no/such/function has no executable `bootstrap`; put the \
           function binary there (chmod +x)",
        ],
    );
    refused(
        &["emulate", "--function-dir", path_str(&empty)],
        &[&format!(
            "error: --function-dir: {} has no executable `bootstrap`;",
            empty.display()
        )],
    );
    refused(
        &[
            "emulate",
            "--function-dir",
            fn_dir,
            "--layer-dir",
            "/no/such/layer.zip",
        ],
        &["error: --layer-dir: /no/such/layer.zip is neither a directory nor a .zip file"],
    );
    refused(
        &[
            "emulate",
            "--function-dir",
            fn_dir,
            "--layer-dir",
            path_str(&empty),
        ],
        &[&format!(
            "error: --layer-dir: {} has no `extensions/` directory; a layer's extensions live \
             in extensions/<name>",
            empty.display()
        )],
    );
}

/// A good command line whose run fails exits 1, not 2: here the function
/// exits at once, so init fails, and the timeline says so.
#[test]
fn emulate_run_failure_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fn_dir = script_function(dir.path(), "#!/bin/sh\nexit 3\n");
    let out = common::gracefulctl()
        .args(["emulate", "--function-dir", path_str(&fn_dir)])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run gracefulctl emulate");
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
