//! The rendered snippets are valid for the tools that consume them:
//! CloudFormation and SAM templates pass cfn-lint, Terraform parses as HCL,
//! and the zip commands are valid bash.

mod common;

use common::{run, stdout_ok};
use std::path::{Path, PathBuf};
use std::process::Command;

const LAYER_ARN: &[&str] = &[
    "--layer-arn",
    "arn:aws:lambda:eu-west-1:123456789012:layer:graceful-shutdown-x86_64:7",
    "--arch",
    "x86_64",
    "--metrics",
    "emf",
];

fn render_to(dir: &Path, file: &str, format: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["render", format];
    args.extend_from_slice(extra);
    let path = dir.join(file);
    std::fs::write(&path, stdout_ok(&args)).expect("write snippet");
    path
}

/// Runs cfn-lint on `templates`; returns its status code and output.
fn cfn_lint(templates: &[PathBuf]) -> (i32, String) {
    let out = Command::new("cfn-lint")
        .arg("--")
        .args(templates)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run cfn-lint ({e}): install it with `pip install -r requirements-dev.txt` \
                 (scripts/setup.sh does)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn cloudformation_and_sam_pass_cfn_lint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = vec![
        render_to(dir.path(), "sam.yaml", "sam", &[]),
        render_to(dir.path(), "sam-arn.yaml", "sam", LAYER_ARN),
        render_to(dir.path(), "cfn.yaml", "cloudformation", &[]),
        render_to(dir.path(), "cfn-arn.yaml", "cloudformation", LAYER_ARN),
        render_to(
            dir.path(),
            "cfn-node.yaml",
            "cloudformation",
            &[
                "--runtime",
                "nodejs22.x",
                "--handler",
                "index.handler",
                "--timeout-ms",
                "280",
            ],
        ),
    ];
    let (code, text) = cfn_lint(&templates);
    assert_eq!(code, 0, "cfn-lint found problems:\n{text}");

    // The same check fails when a template is wrong: a runtime Lambda does not have.
    let bad = render_to(
        dir.path(),
        "bad.yaml",
        "cloudformation",
        &["--runtime", "provided.al2099"],
    );
    let (code, text) = cfn_lint(&[bad]);
    assert_ne!(code, 0, "cfn-lint accepted an unknown runtime:\n{text}");
    assert!(text.contains("provided.al2099"), "{text}");
}

#[test]
fn terraform_parses_as_hcl_with_the_settings() {
    let text = stdout_ok(&[
        "render",
        "terraform",
        "--port",
        "20000",
        "--timeout-ms",
        "120",
    ]);
    let v: serde_json::Value = hcl::from_str(&text).expect("the Terraform output is valid HCL");
    let layer = &v["resource"]["aws_lambda_layer_version"]["graceful_shutdown"];
    assert_eq!(layer["filename"], "graceful-shutdown-arm64.zip");
    assert_eq!(
        layer["compatible_architectures"],
        serde_json::json!(["arm64"])
    );
    let function = &v["resource"]["aws_lambda_function"]["function"];
    assert_eq!(function["architectures"], serde_json::json!(["arm64"]));
    assert_eq!(
        function["layers"],
        serde_json::json!(["${aws_lambda_layer_version.graceful_shutdown.arn}"])
    );
    let vars = &function["environment"]["variables"];
    assert_eq!(vars["GRACEFUL_SHUTDOWN_PORT"], "20000");
    assert_eq!(vars["GRACEFUL_SHUTDOWN_TIMEOUT_MS"], "120");

    let text = stdout_ok(&[
        "render",
        "terraform",
        LAYER_ARN[0],
        LAYER_ARN[1],
        "--arch",
        "x86_64",
    ]);
    let v: serde_json::Value = hcl::from_str(&text).expect("the Terraform output is valid HCL");
    assert!(
        v["resource"].get("aws_lambda_layer_version").is_none(),
        "{text}"
    );
    assert_eq!(
        v["resource"]["aws_lambda_function"]["function"]["layers"][0],
        LAYER_ARN[1]
    );
}

#[test]
fn terraform_keeps_odd_paths_literal() {
    let text = stdout_ok(&[
        "render",
        "terraform",
        "--function-code",
        r#"build/${var.x}/"a".zip"#,
    ]);
    assert!(
        text.contains(r#"filename         = "build/$${var.x}/\"a\".zip""#),
        "{text}"
    );
    let _: serde_json::Value = hcl::from_str(&text).expect("the Terraform output is valid HCL");
}

#[test]
fn zip_commands_are_valid_bash() {
    for extra in [&[][..], LAYER_ARN, &["--layer-zip", "it's here/layer.zip"]] {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = render_to(dir.path(), "publish.sh", "zip", extra);
        let out = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("run bash -n");
        assert!(
            out.status.success(),
            "bash -n refused the script for {extra:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `bash -n` does fail on broken scripts, so the check above means something.
    let out = run(&["render", "zip"]);
    let broken = format!("{}\nif then\n", String::from_utf8_lossy(&out.stdout));
    let out = Command::new("bash")
        .args(["-n", "-c", &broken])
        .output()
        .expect("bash");
    assert!(!out.status.success());
}
