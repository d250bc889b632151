//! The handoff end to end (`docs/protocol.md`, Handoff): the real probe
//! function (the Rust library's `handoff`), the real shutdown layer built
//! with the `handoff` feature, on the emulator, which runs Lambda's order
//! (SIGTERM, the runtime's share, the runtime gone, then SHUTDOWN and the
//! rest of the phase for the extension), and an HTTP endpoint on loopback
//! run by the test, which stands for the service the function writes to.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{built, free_port, rt, serial, target_dir, Staged};
use graceful_shutdown_emulator::{render, Emulator, EventKind, RunReport, Scenario, RUNTIME};
use graceful_shutdown_protocol::verdict::{parse, HandoffCounts};
use graceful_shutdown_protocol::{ENV_HANDOFF_CA_FILE, ENV_PORT, ENV_SECRET_FILE};

const EXT: &str = "graceful-shutdown";

/// The layer of the handoff flavour, built into its own target directory
/// so that it does not replace the default one.
fn handoff_extension() -> PathBuf {
    let path = target_dir()
        .parent()
        .expect("the target directory")
        .join("handoff/debug/graceful-shutdown");
    assert!(
        path.is_file(),
        "{} is missing: run `CARGO_TARGET_DIR=target/handoff cargo build -p graceful-shutdown-extension --features handoff` (scripts/test.d/05-build.sh does)",
        path.display()
    );
    path
}

fn probe() -> PathBuf {
    built(
        "examples/probe",
        "cargo build -p lambda-graceful-shutdown --examples",
    )
}

/// What the endpoint does with each request, in order; the last one repeats.
#[derive(Debug, Clone)]
enum Reply {
    /// Answer this status after this long.
    After(Duration, u16, &'static str),
    /// Never answer (until the test ends).
    Silent,
}

/// One request the endpoint received.
#[derive(Debug, Clone)]
struct Received {
    body: String,
}

/// A loopback HTTP/1.1 endpoint, answering per `replies`, plain or TLS.
struct Endpoint {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    _stop: mpsc::Sender<()>,
}

fn read_request(stream: &mut impl Read) -> Option<(String, String)> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return Some((head.to_owned(), body.to_owned()));
            }
        }
    }
}

impl Endpoint {
    fn start(replies: Vec<Reply>, tls: Option<Arc<rustls::ServerConfig>>) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = mpsc::channel::<()>();
        let stopped = Arc::new(Mutex::new(stopped));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            // Bounded: the extension sends a few requests per test.
            for (n, stream) in listener.incoming().take(32).enumerate() {
                let Ok(tcp) = stream else { return };
                let reply = replies[n.min(replies.len() - 1)].clone();
                let (log, stopped, tls) = (Arc::clone(&log), Arc::clone(&stopped), tls.clone());
                std::thread::spawn(move || {
                    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                    match tls {
                        Some(config) => {
                            let connection =
                                rustls::ServerConnection::new(config).expect("TLS session");
                            let mut stream = rustls::StreamOwned::new(connection, tcp);
                            serve(&mut stream, &reply, &log, &stopped);
                        }
                        None => {
                            let mut stream = tcp;
                            serve(&mut stream, &reply, &log, &stopped);
                        }
                    }
                });
            }
        });
        Endpoint {
            port,
            received,
            _stop: stop,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

fn serve(
    stream: &mut (impl Read + Write),
    reply: &Reply,
    log: &Mutex<Vec<Received>>,
    stopped: &Mutex<mpsc::Receiver<()>>,
) {
    let Some((_head, body)) = read_request(stream) else {
        return;
    };
    log.lock().expect("lock").push(Received { body });
    match reply {
        Reply::After(wait, status, body) => {
            std::thread::sleep(*wait);
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
            let _ = stream.flush();
        }
        Reply::Silent => {
            // Held until the test drops the endpoint, at most 10 s.
            let _ = stopped
                .lock()
                .map(|rx| rx.recv_timeout(Duration::from_secs(10)));
        }
    }
}

/// Run the probe with `handlers` and the handoff layer, its handoffs to `url`.
fn run(handlers: &str, url: &str, extra: &[(&str, String)]) -> (RunReport, String) {
    run_with(handlers, url, extra, |s| s)
}

/// [`run`], with the scenario changed by `adjust`.
fn run_with(
    handlers: &str,
    url: &str,
    extra: &[(&str, String)],
    adjust: impl FnOnce(Scenario) -> Scenario,
) -> (RunReport, String) {
    run_on(&handoff_extension(), handlers, url, extra, adjust)
}

/// [`run_with`] on the layer of `extension`.
fn run_on(
    extension: &std::path::Path,
    handlers: &str,
    url: &str,
    extra: &[(&str, String)],
    adjust: impl FnOnce(Scenario) -> Scenario,
) -> (RunReport, String) {
    let staged = Staged::new().bootstrap(&probe()).extension(EXT, extension);
    let mut scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("PROBE_HANDLERS", handlers)
        .env("PROBE_HANDOFF_URL", url)
        .env("PROBE_OUTPUT", staged.file("out").display().to_string())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string());
    for (name, value) in extra {
        scenario = scenario.env(*name, value.clone());
    }
    let scenario = adjust(scenario);
    let report = rt()
        .block_on(Emulator::run(scenario))
        .expect("the emulator runs");
    let mut text = render(&report.timeline);
    let out = std::fs::read_to_string(staged.file("out")).unwrap_or_default();
    text.push_str(&format!("\nprobe output:\n{out}"));
    (report, text)
}

fn counts(report: &RunReport, text: &str) -> HandoffCounts {
    let line = report
        .timeline
        .verdict_line()
        .unwrap_or_else(|| panic!("no verdict:\n{text}"));
    parse(line)
        .unwrap_or_else(|e| panic!("{e}:\n{text}"))
        .verdict
        .handoff
        .unwrap_or_else(|| panic!("no handoff in the verdict:\n{text}"))
}

fn runtime_gone_at(report: &RunReport, text: &str) -> f64 {
    let t = &report.timeline;
    let at = t
        .position(RUNTIME, |k| matches!(k, EventKind::Exited { .. }))
        .unwrap_or_else(|| panic!("the runtime never exited:\n{text}"));
    t.events[at].at_ms
}

#[test]
fn a_handoff_is_delivered_after_the_runtime_is_killed() {
    let _one = serial();
    // The service takes 600 ms to answer: longer than the runtime's share.
    let endpoint = Endpoint::start(
        vec![Reply::After(Duration::from_millis(600), 200, "{}")],
        None,
    );
    let url = format!("http://127.0.0.1:{}/write", endpoint.port);
    // After the handoff, a handler that holds the runtime past its share
    // (150 ms here): Lambda SIGKILLs it, and the layer still delivers.
    let (report, text) = run_with("flush:handoff,hold:sleep=5000", &url, &[], |mut s| {
        s.runtime_share = Duration::from_millis(150);
        s
    });
    assert!(
        report
            .timeline
            .signals(RUNTIME)
            .iter()
            .any(|s| s == "SIGKILL"),
        "the runtime was SIGKILLed:\n{text}"
    );
    assert_eq!(
        counts(&report, &text),
        HandoffCounts {
            handed_off: 1,
            delivered: 1,
            ..HandoffCounts::default()
        },
        "{text}"
    );
    let received = endpoint.received();
    assert_eq!(received.len(), 1, "{text}");
    assert!(received[0].body.contains(r#""handler":"flush""#), "{text}");
    let delivered = report
        .timeline
        .line_containing("handoff: delivered")
        .unwrap_or_else(|| panic!("no delivery logged:\n{text}"));
    assert!(
        delivered.at_ms > runtime_gone_at(&report, &text),
        "delivered after the runtime was gone:\n{text}"
    );
    assert!(text.contains("handoff flush taken"), "{text}");
}

#[test]
fn a_throttled_endpoint_is_retried_until_it_takes_the_request() {
    let _one = serial();
    let throttled = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#;
    let endpoint = Endpoint::start(
        vec![
            Reply::After(Duration::ZERO, 400, throttled),
            Reply::After(Duration::ZERO, 503, ""),
            Reply::After(Duration::ZERO, 200, "{}"),
        ],
        None,
    );
    let url = format!("http://127.0.0.1:{}/", endpoint.port);
    let (report, text) = run("flush:handoff", &url, &[]);
    assert_eq!(counts(&report, &text).delivered, 1, "{text}");
    assert_eq!(
        endpoint.received().len(),
        3,
        "two retries, then taken:\n{text}"
    );
}

#[test]
fn what_is_not_delivered_by_the_deadline_is_dead_lettered_in_the_log() {
    let _one = serial();
    let endpoint = Endpoint::start(vec![Reply::Silent], None);
    let url = format!("http://127.0.0.1:{}/never", endpoint.port);
    let (report, text) = run("flush:handoff", &url, &[]);
    assert_eq!(
        counts(&report, &text),
        HandoffCounts {
            handed_off: 1,
            dead_lettered: 1,
            ..HandoffCounts::default()
        },
        "{text}"
    );
    let record = report
        .timeline
        .line_containing("graceful-shutdown handoff dead-letter")
        .unwrap_or_else(|| panic!("no dead-letter record:\n{text}"));
    let json: serde_json::Value =
        serde_json::from_str(&record.line[record.line.find('{').expect("JSON")..])
            .unwrap_or_else(|e| panic!("{e}: {}", record.line));
    assert_eq!(json["id"], "flush-1", "{text}");
    assert_eq!(json["request"]["url"], url.as_str(), "{text}");
    assert!(
        json["request"]["body"]
            .as_str()
            .unwrap_or("")
            .contains("flush"),
        "the record holds the body to replay:\n{text}"
    );
    assert_eq!(
        report.timeline.exit_of(EXT),
        Some((Some(0), None)),
        "exits by itself:\n{text}"
    );
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it.
fn test_pki(dir: &std::path::Path) -> (PathBuf, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    (ca_file, Arc::new(config))
}

#[test]
fn https_is_verified_against_the_ca_file_the_layer_is_given() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("dir");
    let (ca_file, tls) = test_pki(dir.path());
    let endpoint = Endpoint::start(
        vec![Reply::After(Duration::ZERO, 200, "{}")],
        Some(tls.clone()),
    );
    let url = format!("https://localhost:{}/secure", endpoint.port);
    let (report, text) = run(
        "flush:handoff",
        &url,
        &[(ENV_HANDOFF_CA_FILE, ca_file.display().to_string())],
    );
    assert_eq!(counts(&report, &text).delivered, 1, "{text}");
    assert_eq!(endpoint.received().len(), 1, "{text}");

    // Without the CA, the certificate is not trusted: dead-lettered, nothing lost.
    let untrusted = Endpoint::start(vec![Reply::After(Duration::ZERO, 200, "{}")], Some(tls));
    let url = format!("https://localhost:{}/secure", untrusted.port);
    let (report, text) = run("flush:handoff", &url, &[]);
    assert_eq!(counts(&report, &text).dead_lettered, 1, "{text}");
    assert!(untrusted.received().is_empty(), "{text}");
}

#[test]
fn a_forged_handoff_and_one_over_a_limit_are_refused_by_name() {
    let _one = serial();
    let endpoint = Endpoint::start(vec![Reply::After(Duration::ZERO, 200, "{}")], None);
    let url = format!("http://127.0.0.1:{}/", endpoint.port);
    let big = (graceful_shutdown_protocol::limits()
        .handoff
        .max_request_bytes
        + 1)
    .to_string();
    let (report, text) = run(
        "forge:forged,big:handoff",
        &url,
        &[("PROBE_HANDOFF_BYTES", big)],
    );
    assert!(
        text.contains("forged forge 401"),
        "the forgery is refused:\n{text}"
    );
    assert!(
        text.contains("handoff big refused 400 requests[0].body: ")
            && text.contains("handoff.maxRequestBytes is"),
        "the limit is named to the function:\n{text}"
    );
    assert_eq!(
        counts(&report, &text),
        HandoffCounts {
            refused: 2,
            ..HandoffCounts::default()
        },
        "{text}"
    );
    assert!(endpoint.received().is_empty(), "nothing was sent:\n{text}");
    assert!(
        report.timeline.line_containing("handoff refused").is_some(),
        "the extension logs the refusals:\n{text}"
    );
}

#[test]
fn the_default_layer_refuses_a_handoff_naming_the_flavour() {
    let _one = serial();
    let endpoint = Endpoint::start(vec![Reply::After(Duration::ZERO, 200, "{}")], None);
    let url = format!("http://127.0.0.1:{}/", endpoint.port);
    let default_layer = built(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    );
    let (report, text) = run_on(&default_layer, "flush:handoff", &url, &[], |s| s);
    assert!(
        text.contains("handoff flush refused 501 handoff: this layer is built without it")
            && text.contains("handoff: true"),
        "{text}"
    );
    assert_eq!(
        counts(&report, &text),
        HandoffCounts {
            refused: 1,
            ..HandoffCounts::default()
        },
        "{text}"
    );
    assert!(endpoint.received().is_empty(), "{text}");
}
