//! The contract as executable vectors: `spec/vectors/*.json`, written from the
//! Rust code that defines the contract (`graceful-shutdown-protocol` for the
//! report bytes, the text cuts, the `hello` split and the handoff; this crate's `Config`
//! for the settings and their messages), and read by every other library's
//! tests, the construct's validation tests included. This test fails when a
//! committed file differs from what the Rust code writes; to refresh them:
//!
//! ```sh
//! UPDATE_VECTORS=1 cargo test -p lambda-graceful-shutdown --test vectors
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use graceful_shutdown_protocol::handoff::{Handoff, HandoffRequest};
use graceful_shutdown_protocol::report::hello_reports_from;
use graceful_shutdown_protocol::text::fit;
use graceful_shutdown_protocol::wire::{encode_handoff, encode_request_from};
use graceful_shutdown_protocol::{limits, parse_port, parse_timeout_ms, Report};
use lambda_graceful_shutdown::Config;
use serde_json::{json, Value};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

/// Compares `value` with the committed file, or writes it with `UPDATE_VECTORS=1`.
fn check(name: &str, value: Value) {
    let path = vectors_dir().join(name);
    let mut text = serde_json::to_string_pretty(&value).expect("vectors serialize");
    text.push('\n');
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(vectors_dir()).expect("create spec/vectors");
        std::fs::write(&path, &text).expect("write a vector file");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "spec/vectors/{name} is stale: it is not what the Rust contract writes; run \
         `UPDATE_VECTORS=1 cargo test -p lambda-graceful-shutdown --test vectors` and commit it"
    );
}

/// A small deterministic generator, so that the random texts are the same in every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below
    }
}

const PORT: u16 = 20471;

fn every_kind() -> Vec<Value> {
    vec![
        json!({"type": "hello", "pid": 4242, "handlers": ["flush", "close pool", "日本", "q\"uote\\"], "timeoutMs": 250, "concurrent": false}),
        json!({"type": "hello", "pid": 1, "handlers": ["x"], "timeoutMs": 1, "concurrent": true, "firstIndex": 3}),
        json!({"type": "shutdownStarted", "signal": "SIGTERM"}),
        json!({"type": "shutdownStarted", "signal": "trigger"}),
        json!({"type": "started", "handler": "flush", "index": 0}),
        json!({"type": "finished", "handler": "é\u{1}\n\t", "index": 1_u64 << 40, "durationMs": 1_u64 << 53}),
        json!({"type": "failed", "handler": "boom", "index": 1, "durationMs": 3, "error": "RuntimeError: disk full\nline 2 é 😱 \u{7f} \u{2028}"}),
        json!({"type": "failed", "handler": "p", "index": 2, "durationMs": 0, "error": "panicked: injected panic in p"}),
        json!({"type": "timedOut", "handler": "slow", "index": 9, "durationMs": 280}),
        json!({"type": "allDone", "completed": 2, "failed": 1, "timedOut": 1, "totalMs": 281}),
    ]
}

#[test]
fn reports_are_the_committed_bytes() {
    let secret = "ab".repeat(32);
    let workers: [Option<String>; 5] = [
        None,
        Some("4242".into()),
        Some("88/2".into()),
        Some(String::new()),
        Some("wé\"".repeat(40)),
    ];
    let mut cases = Vec::new();
    for report in every_kind() {
        let parsed = Report::parse(report.to_string().as_bytes()).expect("a valid report");
        for worker in &workers {
            let worker = worker.as_deref();
            cases.push(json!({
                "report": report,
                "worker": worker,
                "body": parsed.to_json_from(worker),
                "request": encode_request_from(PORT, &secret, &parsed, worker),
            }));
        }
    }
    check(
        "reports.json",
        json!({
            "$comment": "Each report as the library builds it (`report`: its type and fields, keys in no particular order; `body` has the wire order), sent by `worker` (null: no worker field), to 127.0.0.1:`port` with `secret`: the exact JSON `body` and the exact HTTP `request` bytes (UTF-8). Written by rust/lambda-graceful-shutdown/tests/vectors.rs from graceful-shutdown-protocol.",
            "port": PORT,
            "secret": secret,
            "cases": cases,
        }),
    );
}

#[test]
fn text_cuts_are_the_committed_ones() {
    let alphabet = ["a", "é", "日", "😱", "\u{1}", "\"", "\\", "\n", "…", " "];
    let mut texts: Vec<String> = vec![
        "flush".into(),
        "é".repeat(64),
        "日本".repeat(300),
        "\u{1}".repeat(300),
        "é\u{1}\"".repeat(500),
        "abcdef".into(),
        String::new(),
        "\u{2028}\u{7f}\u{0}\u{1f}\u{8}\u{c}\r\t".into(),
    ];
    let mut rng = Lcg(15);
    for _ in 0..60 {
        let len = rng.next(200);
        texts.push(
            (0..len)
                .map(|_| alphabet[rng.next(alphabet.len())])
                .collect(),
        );
    }
    let maxes = [0_usize, 1, 2, 3, 4, 5, 6, 7, 63, 128, 1024];
    let cases: Vec<Value> = texts
        .iter()
        .map(|text| {
            let cuts: Vec<Value> = maxes
                .iter()
                .map(|&max| json!([max, fit(text, max)]))
                .collect();
            json!({"text": text, "cuts": cuts})
        })
        .collect();
    check(
        "fit.json",
        json!({
            "$comment": "Each `text` with its `cuts`, pairs of [max, fit]: the text cut to at most `max` bytes as written in a JSON string (without the quotes), on a character boundary, ending with … when cut: `fit`. Names are cut to maxNameBytes, errors to maxErrorBytes, workers to maxWorkerBytes (spec/limits.json). Written by rust/lambda-graceful-shutdown/tests/vectors.rs from graceful-shutdown-protocol's text::fit.",
            "cases": cases,
        }),
    );
}

#[test]
fn hello_splits_are_the_committed_ones() {
    let cases_in: Vec<(Vec<String>, u32, bool)> = vec![
        (vec![], 250, false),
        (vec!["flush".into(), "close-pool".into()], 250, true),
        (
            (0..100)
                .map(|i| format!("{i}-{}", "ß".repeat(200)))
                .collect(),
            u32::MAX,
            false,
        ),
        (
            (0..40)
                .map(|i| format!("handler-{i:02}-{}", "x".repeat(110)))
                .collect(),
            250,
            false,
        ),
        (vec!["é".repeat(2000), "after".into()], 280, true),
    ];
    let mut cases = Vec::new();
    for (names, timeout_ms, concurrent) in cases_in {
        for worker in [None, Some("4242".to_owned()), Some("x".repeat(200))] {
            let hellos = hello_reports_from(worker.as_deref(), 77, &names, timeout_ms, concurrent);
            let bodies: Vec<String> = hellos
                .iter()
                .map(|h| h.to_json_from(worker.as_deref()))
                .collect();
            cases.push(json!({
                "names": names,
                "pid": 77,
                "timeoutMs": timeout_ms,
                "concurrent": concurrent,
                "worker": worker,
                "hellos": bodies,
            }));
        }
    }
    check(
        "hello.json",
        json!({
            "$comment": "The hello reports that announce `names` (registration order) for process `pid` sent by `worker` (null: none): one body, or several under maxReportBytes each with firstIndex. Written by rust/lambda-graceful-shutdown/tests/vectors.rs from graceful-shutdown-protocol's report::hello_reports_from.",
            "cases": cases,
        }),
    );
}

#[test]
fn settings_are_the_committed_ones() {
    let l = limits();
    let env = &l.env;
    let mut inputs: Vec<BTreeMap<&str, String>> = vec![BTreeMap::new()];
    let port_values: Vec<String> = [
        "4471",
        " 20000 ",
        "+20001",
        "1024",
        "65535",
        "",
        " ",
        "-1",
        "0",
        "80",
        "1023",
        "65536",
        "4471.0",
        "0x1177",
        "port",
        "9001",
        "8080",
        "2772",
        "2773",
        "4317",
        "4318",
        "8124",
        "8125",
        "8126",
        "99999999999999999999",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for v in &port_values {
        inputs.push(BTreeMap::from([(env.port.as_str(), v.clone())]));
    }
    let timeout_values: Vec<String> = [
        "250",
        "1",
        "280",
        " 120 ",
        "+7",
        "",
        "0",
        "281",
        "-5",
        "1.5",
        "abc",
        "1e3",
        "300",
        "4294967296",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for v in &timeout_values {
        inputs.push(BTreeMap::from([(env.timeout_ms.as_str(), v.clone())]));
    }
    for v in ["/tmp/x.secret", "", "   ", "relative/path", "/tmp/a\u{0}b"] {
        inputs.push(BTreeMap::from([(env.secret_file.as_str(), v.to_owned())]));
    }
    inputs.push(BTreeMap::from([
        (env.port.as_str(), "9001".to_owned()),
        (env.timeout_ms.as_str(), "abc".to_owned()),
        (env.secret_file.as_str(), String::new()),
    ]));
    let mut cases = Vec::new();
    for vars in inputs {
        let (config, problems) =
            Config::from_lookup(|name| vars.get(name).map(ToString::to_string));
        cases.push(json!({
            "env": vars,
            "port": config.port,
            "timeoutMs": config.timeout.as_millis() as u64,
            "secretFile": config.secret_file.to_string_lossy(),
            "problems": problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
    }
    // The two parsers the extension, the construct and the CLI share: the value or the exact error.
    let mut parsers = Vec::new();
    for v in &port_values {
        parsers.push(match parse_port(v) {
            Ok(p) => json!({"variable": env.port, "value": v, "accepted": p}),
            Err(e) => json!({"variable": env.port, "value": v, "error": e.to_string()}),
        });
    }
    for v in &timeout_values {
        parsers.push(match parse_timeout_ms(v) {
            Ok(ms) => json!({"variable": env.timeout_ms, "value": v, "accepted": ms}),
            Err(e) => json!({"variable": env.timeout_ms, "value": v, "error": e.to_string()}),
        });
    }
    check(
        "settings.json",
        json!({
            "$comment": "`library`: what a function library makes of its environment `env` (unset variables are absent): the settings it uses and one message per refused value, each naming the variable and the value and then the default used instead. `values`: each value of one variable, accepted (the parsed number) or refused with the exact error, as the extension reports it at init. Written by rust/lambda-graceful-shutdown/tests/vectors.rs from the library's Config and graceful-shutdown-protocol's parsers.",
            "library": cases,
            "values": parsers,
        }),
    );
}

/// `spec/vectors/handoff.json`: the handoff bodies and requests every library
/// writes (headers in the order given; these give them sorted, so that an
/// encoder that sorts writes the same bytes), the refusals the extension
/// answers with (the start of each message), and the AWS JSON-protocol
/// helper's requests for given arguments and environments.
#[test]
fn handoffs_are_the_committed_ones() {
    let secret = "0123456789abcdef".repeat(4);
    let request = |method: &str, url: &str| HandoffRequest {
        id: None,
        method: method.into(),
        url: url.into(),
        headers: vec![],
        body: vec![],
        sign: None,
    };
    let dynamodb = HandoffRequest::aws_json(
        "dynamodb",
        "DynamoDB_20120810.BatchWriteItem",
        r#"{"RequestItems":{"writes":[{"PutRequest":{"Item":{"id":{"S":"w-1"}}}}]}}"#,
        Some("us-east-1"),
        |_| None,
    )
    .expect("a valid AWS request");
    let encodes = [
        (
            "one plain request",
            None,
            vec![request("POST", "http://127.0.0.1:5005/flush")],
        ),
        (
            "every field, from a worker",
            Some("4242"),
            vec![HandoffRequest {
                id: Some("flush-1".into()),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-batch".into(), "7 of 9 \"quoted\" \u{e9}".into()),
                ],
                body: "{\"items\":[1,2,3],\"note\":\"caf\u{e9} \u{2603} \\n\"}"
                    .as_bytes()
                    .to_vec(),
                ..request("PUT", "https://example.com:8443/a/b?c=d&e=f")
            }],
        ),
        (
            "bytes that are not UTF-8 go in bodyBase64",
            None,
            vec![HandoffRequest {
                body: vec![0, 159, 146, 150, 255],
                ..request("POST", "http://127.0.0.1:9/bin")
            }],
        ),
        (
            "two requests, one signed for DynamoDB",
            None,
            vec![
                dynamodb.clone(),
                request("DELETE", "http://localhost:8000/x/1"),
            ],
        ),
    ];
    let encode: Vec<Value> = encodes
        .into_iter()
        .map(|(name, worker, requests)| {
            let handoff = Handoff {
                worker: worker.map(str::to_owned),
                requests,
            };
            let json = handoff.to_json();
            assert_eq!(
                Handoff::parse(json.as_bytes()).expect("the extension takes it"),
                handoff,
                "{name}: parses back"
            );
            json!({
                "name": name,
                "value": serde_json::from_str::<Value>(&json).expect("JSON"),
                "json": json,
                "request": encode_handoff(PORT, &secret, &handoff),
            })
        })
        .collect();
    let refusals = [
        ("not an object", "[1]"),
        ("no type", r#"{"requests":[{"method":"POST","url":"http://a/"}]}"#),
        ("no requests", r#"{"type":"handoff","requests":[]}"#),
        ("a lower-case method", r#"{"type":"handoff","requests":[{"method":"post","url":"http://a/"}]}"#),
        ("not an http URL", r#"{"type":"handoff","requests":[{"method":"POST","url":"file:///etc/passwd"}]}"#),
        ("a header the extension writes", r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","headers":{"content-length":"3"}}]}"#),
        ("a signed request that sets its own signature", r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","headers":{"authorization":"x"},"sign":{"service":"sqs","region":"eu-west-1"}}]}"#),
        ("a region that is no region", r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","sign":{"service":"sqs","region":"EU WEST"}}]}"#),
        ("both body and bodyBase64", r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","body":"x","bodyBase64":"eA=="}]}"#),
    ]
    .into_iter()
    .map(|(name, body)| {
        let error = Handoff::parse(body.as_bytes()).expect_err(name).0;
        json!({ "name": name, "json": body, "error": error })
    })
    .collect::<Vec<_>>();
    /// A case's name, the region given, and the environment.
    type AwsCase<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);
    let aws_cases: [AwsCase<'_>; 5] = [
        ("the region given", Some("eu-west-1"), &[]),
        (
            "the region from AWS_REGION",
            None,
            &[
                ("AWS_REGION", "ap-south-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
            ],
        ),
        (
            "the service's own endpoint first",
            None,
            &[
                ("AWS_REGION", "us-east-1"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:5005"),
            ],
        ),
        (
            "the general endpoint, given a path",
            None,
            &[
                ("AWS_DEFAULT_REGION", "us-east-2"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"),
            ],
        ),
        ("no region anywhere", None, &[]),
    ];
    let aws = aws_cases
        .into_iter()
        .map(|(name, region, env)| {
            let lookup = |key: &str| {
                env.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            };
            let target = "DynamoDB_20120810.BatchWriteItem";
            let body = r#"{"RequestItems":{}}"#;
            let mut case = json!({
                "name": name,
                "service": "dynamodb",
                "target": target,
                "body": body,
                "region": region,
                "env": env.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
            });
            match HandoffRequest::aws_json("dynamodb", target, body, region, lookup) {
                Ok(request) => case["json"] = json!(request.to_json()),
                Err(e) => case["error"] = json!(e.0),
            }
            case
        })
        .collect::<Vec<_>>();
    check(
        "handoff.json",
        json!({
            "path": limits().handoff.path,
            "secret": secret,
            "port": PORT,
            "encode": encode,
            "refusals": refusals,
            "aws": aws,
        }),
    );
}
