//! End to end with the demo function: a layer zip from `create-extension`,
//! the demo function (buffered DynamoDB writes) and a local DynamoDB (moto's
//! server on 127.0.0.1) run in `gracefulctl emulate`. The writes still in the
//! buffer when the environment retires reach the table through the
//! `flush-writes` shutdown handler, and the extension's verdict says
//! `outcome=completed`.

mod common;

use common::{built, extension_binary, free_port, native_arch, path_str, stdout_ok};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGION: &str = "us-east-1";
const TABLE: &str = "graceful-demo";

/// moto's server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start(log: &Path) -> Moto {
        let port = free_port();
        let log = fs::File::create(log).expect("moto log");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}): install it with \
                     `pip install -r requirements-dev.txt` (scripts/setup.sh does)"
                )
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&moto.endpoint).call().is_err() {
            assert!(
                moto.child.try_wait().expect("moto status").is_none(),
                "moto_server exited early"
            );
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// One DynamoDB JSON-protocol call, as the SDK makes it (moto routes by
    /// the service named in the credential scope and does not check signatures).
    fn dynamodb(&self, action: &str, body: serde_json::Value) -> serde_json::Value {
        let text = ureq::post(&self.endpoint)
            .header("X-Amz-Target", format!("DynamoDB_20120810.{action}"))
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/dynamodb/aws4_request, \
                     SignedHeaders=host;x-amz-target, Signature=00"
                ),
            )
            .content_type("application/x-amz-json-1.0")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("DynamoDB {action}: {e}"))
            .body_mut()
            .read_to_string()
            .expect("DynamoDB answer");
        serde_json::from_str(&text).expect("DynamoDB answers JSON")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn demo_function_flushes_its_buffer_through_the_layer_zip() {
    let demo = built(
        "bootstrap",
        "cargo build -p graceful-shutdown-demo-function",
    );
    let root = tempfile::tempdir().expect("tempdir");
    let zip = root.path().join("layer.zip");
    let port = free_port().to_string();
    stdout_ok(&[
        "create-extension",
        "--arch",
        native_arch(),
        "--binary",
        path_str(&extension_binary()),
        "--out",
        path_str(&zip),
        "--port",
        &port,
    ]);
    let fn_dir = root.path().join("fn");
    fs::create_dir_all(&fn_dir).expect("fn dir");
    fs::copy(&demo, fn_dir.join("bootstrap")).expect("copy the demo function");
    let event = root.path().join("event.json");
    fs::write(&event, r#"{"writes":["order-1","order-2","order-3"]}"#).expect("event");

    let moto = Moto::start(&root.path().join("moto.log"));
    moto.dynamodb(
        "CreateTable",
        serde_json::json!({
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    );

    let settings = fs::read_to_string(root.path().join("layer.env")).expect("settings");
    let mut env: Vec<String> = settings.lines().map(String::from).collect();
    env.extend([
        format!("TABLE_NAME={TABLE}"),
        "BATCH_SIZE=10".into(),
        format!("AWS_ENDPOINT_URL={}", moto.endpoint),
        format!("AWS_REGION={REGION}"),
        "AWS_ACCESS_KEY_ID=testing".into(),
        "AWS_SECRET_ACCESS_KEY=testing".into(),
        // A secret file of this test's own: the default path under /tmp is
        // shared by every environment run on this machine at the same time.
        format!(
            "GRACEFUL_SHUTDOWN_SECRET_FILE={}",
            root.path().join("secret").display()
        ),
    ]);
    let mut cmd = common::gracefulctl();
    cmd.args([
        "emulate",
        "--function-dir",
        path_str(&fn_dir),
        "--layer-dir",
        path_str(&zip),
    ])
    .args(["--event", path_str(&event)]);
    for kv in &env {
        cmd.args(["--env", kv]);
    }
    let out = cmd
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run gracefulctl emulate");
    let timeline = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "emulate failed ({}):\n{timeline}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        timeline
            .contains("graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1")
            && timeline.contains("flush-writes=ok("),
        "no completed verdict for flush-writes in the timeline:\n{timeline}"
    );

    // The three writes were only in memory after the invocation (batch size
    // 10): they are in the table because the shutdown handler flushed them.
    let scan = moto.dynamodb("Scan", serde_json::json!({ "TableName": TABLE }));
    let mut stored: Vec<(String, String)> = scan["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .map(|item| {
            let text = |k: &str| item[k]["S"].as_str().unwrap_or_default().to_owned();
            (text("pk"), text("stored_by"))
        })
        .collect();
    stored.sort();
    let expected: Vec<(String, String)> = ["order-1", "order-2", "order-3"]
        .iter()
        .map(|id| ((*id).to_owned(), "shutdown".to_owned()))
        .collect();
    assert_eq!(
        stored, expected,
        "table after shutdown; timeline:\n{timeline}"
    );
}
