//! Every rendered format, as gracefulctl prints it, against a committed
//! snapshot (tests/snapshots/). A change to a template shows up as a diff.

mod common;

use common::stdout_ok;

/// Options of the second case of every format: an already published layer on
/// x86_64, with non-default settings, metrics and function.
const CUSTOM: &[&str] = &[
    "--arch",
    "x86_64",
    "--layer-arn",
    "arn:aws:lambda:eu-west-1:123456789012:layer:graceful-shutdown-x86_64:7",
    "--port",
    "20000",
    "--timeout-ms",
    "120",
    "--metrics",
    "emf",
    "--function-name",
    "orders-writer",
    "--function-code",
    "target/lambda/orders-writer/bootstrap.zip",
    "--runtime",
    "nodejs22.x",
    "--handler",
    "index.handler",
];

fn render(format: &str, extra: &[&str]) -> String {
    let mut args = vec!["render", format];
    args.extend_from_slice(extra);
    stdout_ok(&args)
}

#[test]
fn sam() {
    insta::assert_snapshot!("sam_default", render("sam", &[]));
    insta::assert_snapshot!("sam_layer_arn", render("sam", CUSTOM));
}

#[test]
fn cloudformation() {
    insta::assert_snapshot!("cloudformation_default", render("cloudformation", &[]));
    insta::assert_snapshot!("cloudformation_layer_arn", render("cloudformation", CUSTOM));
}

#[test]
fn terraform() {
    insta::assert_snapshot!("terraform_default", render("terraform", &[]));
    insta::assert_snapshot!("terraform_layer_arn", render("terraform", CUSTOM));
}

#[test]
fn zip() {
    insta::assert_snapshot!("zip_default", render("zip", &[]));
    insta::assert_snapshot!("zip_layer_arn", render("zip", CUSTOM));
    let named = render(
        "zip",
        &[
            "--layer-zip",
            "dist/my layer.zip",
            "--layer-name",
            "shutdown",
            "--port",
            "5000",
        ],
    );
    insta::assert_snapshot!("zip_named_layer", named);
}

/// The handoff flavour: its zip and layer name, `--handoff` in the
/// create-extension command, and the layer's description.
#[test]
fn handoff() {
    insta::assert_snapshot!("zip_handoff", render("zip", &["--handoff"]));
    insta::assert_snapshot!(
        "sam_handoff",
        render("sam", &["--handoff", "--arch", "x86_64"])
    );
    insta::assert_snapshot!("terraform_handoff", render("terraform", &["--handoff"]));
    insta::assert_snapshot!(
        "cloudformation_handoff",
        render("cloudformation", &["--handoff"])
    );
}
