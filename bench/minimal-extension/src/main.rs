//! The floor of the start-up benchmark: the least an external extension can
//! do. It registers for SHUTDOWN, calls `/event/next` once, and exits 0 when
//! the answer (SHUTDOWN) comes; no listener, no secret, no logging, no
//! parsing beyond the identifier header. The standard library only, with a
//! hand-written HTTP/1.1 exchange on purpose: any client library would add to
//! the very cost this measures. Used by the benchmark only, never shipped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::exit;

/// Sends one request and returns the whole response (`Connection: close`).
fn exchange(api: &str, request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(api)?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

fn main() {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!(
            "minimal-extension: AWS_LAMBDA_RUNTIME_API is not set; run it as a Lambda extension"
        );
        exit(1);
    };
    let name = std::env::args()
        .next()
        .and_then(|a| a.rsplit('/').next().map(str::to_owned))
        .unwrap_or_else(|| "minimal-extension".to_owned());
    let body = r#"{"events":["SHUTDOWN"]}"#;
    let register = format!(
        "POST /2020-01-01/extension/register HTTP/1.1\r\nHost: {api}\r\nLambda-Extension-Name: {name}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let id = match exchange(&api, &register) {
        Ok(response) => response.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("lambda-extension-identifier")
                .then(|| v.trim().to_owned())
        }),
        Err(e) => {
            eprintln!("minimal-extension: register failed: {e}");
            exit(1);
        }
    };
    let Some(id) = id else {
        eprintln!("minimal-extension: no Lambda-Extension-Identifier in the register answer");
        exit(1);
    };
    let next = format!(
        "GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: {api}\r\nLambda-Extension-Identifier: {id}\r\n\
         Connection: close\r\n\r\n"
    );
    match exchange(&api, &next) {
        Ok(_) => exit(0),
        Err(e) => {
            eprintln!("minimal-extension: event/next failed: {e}");
            exit(1);
        }
    }
}
