//! One attempt at a handed-off request: `http://` or `https://` through
//! ureq (rustls with ring, the Mozilla roots of webpki-roots, or the PEM
//! file of `GRACEFUL_SHUTDOWN_HANDOFF_CA_FILE` instead), signed with AWS
//! SigV4 (aws-sigv4) at each attempt when the request asks for it.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use graceful_shutdown_protocol::handoff::Signing;
use graceful_shutdown_protocol::limits::HandoffLimits;
use graceful_shutdown_protocol::{HandoffRequest, ENV_HANDOFF_CA_FILE};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::policy::{classify, error_type_in_body, Answer};

/// Most bytes of an error answer read, to find the AWS error type in it.
const MAX_ERROR_BODY_BYTES: u64 = 16 * 1024;

#[derive(Debug)]
pub struct Sender {
    agent: ureq::Agent,
}

impl Sender {
    /// The HTTP client, with the roots `GRACEFUL_SHUTDOWN_HANDOFF_CA_FILE`
    /// names if set. `Err` names the variable and why (then every request
    /// is dead-lettered with it, and nothing is lost).
    pub fn from_env(_limits: &HandoffLimits) -> Result<Sender, String> {
        let roots = match std::env::var_os(ENV_HANDOFF_CA_FILE) {
            Some(path) if !path.is_empty() => {
                let pem = std::fs::read(&path).map_err(|e| {
                    format!(
                        "{ENV_HANDOFF_CA_FILE}: cannot read {}: {e}",
                        path.to_string_lossy()
                    )
                })?;
                let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err(format!(
                        "{ENV_HANDOFF_CA_FILE}: no certificate in {}",
                        path.to_string_lossy()
                    ));
                }
                RootCerts::new_with_certs(&certs)
            }
            _ => RootCerts::WebPki,
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build()
            .new_agent();
        Ok(Sender { agent })
    }

    /// One attempt, within `timeout`.
    pub fn attempt(&self, request: &HandoffRequest, timeout: Duration) -> Answer {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(signing) = &request.sign {
            match signature(request, signing) {
                Ok(headers) => {
                    for (name, value) in headers {
                        builder = builder.header(name, value);
                    }
                }
                Err(e) => return Answer::Final(e),
            }
        }
        let http_request = match builder.body(request.body.clone()) {
            Ok(r) => r,
            Err(e) => return Answer::Final(format!("not a valid request: {e}")),
        };
        let configured = self
            .agent
            .configure_request(http_request)
            .timeout_global(Some(timeout))
            .build();
        match self.agent.run(configured) {
            Ok(mut response) => {
                let status = response.status();
                let header_type = response
                    .headers()
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let error_type = if status.is_success() {
                    None
                } else {
                    header_type.or_else(|| {
                        response
                            .body_mut()
                            .with_config()
                            .limit(MAX_ERROR_BODY_BYTES)
                            .read_to_vec()
                            .ok()
                            .and_then(|body| error_type_in_body(&body))
                    })
                };
                classify(
                    status.as_u16(),
                    status.canonical_reason().unwrap_or(""),
                    error_type.as_deref(),
                )
            }
            Err(ureq::Error::Timeout(_)) => Answer::Retry(String::from("timed out")),
            Err(
                e
                @ (ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound),
            ) => Answer::Retry(e.to_string()),
            Err(e) => Answer::Final(e.to_string()),
        }
    }
}

/// The SigV4 headers for `request`, with the credentials of the
/// environment (Lambda gives extensions the function's).
fn signature(request: &HandoffRequest, signing: &Signing) -> Result<Vec<(String, String)>, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err(String::from(
            "cannot sign: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set in the extension's environment",
        ));
    };
    let identity =
        Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signing.region)
        .name(&signing.service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign: {e}"))?
        .into();
    let signable = SignableRequest::new(
        &request.method,
        request.url.as_str(),
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| format!("cannot sign: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("cannot sign: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect())
}
