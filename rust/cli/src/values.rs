//! Parsers for option values, used as clap `value_parser`s. Each one accepts
//! exactly what the construct library accepts (the port and timeout rules come
//! from `graceful-shutdown-protocol`, which reads `spec/limits.json`), and each
//! error says what was expected and how to fix it. clap prefixes the message
//! with the option's name, e.g. `invalid value '9001' for '--port <PORT>': ...`.

use graceful_shutdown_protocol::{limits, parse_port, parse_timeout_ms, ENV_PORT, ENV_TIMEOUT_MS};

/// `--port`: the loopback port of the extension (becomes `GRACEFUL_SHUTDOWN_PORT`).
pub fn port(raw: &str) -> Result<u16, String> {
    parse_port(raw).map_err(|_| {
        let l = &limits().port;
        let fix = format!("use another port, for example the default {}", l.default);
        match raw
            .trim()
            .parse::<u16>()
            .ok()
            .and_then(|p| l.reserved_by(p))
        {
            Some(user) => format!(
                "port {} is used by {user}; {fix} (the value becomes {ENV_PORT})",
                raw.trim()
            ),
            None => format!(
                "expected a port number from {} to {}; {fix} (the value becomes {ENV_PORT})",
                l.min, l.max
            ),
        }
    })
}

/// `--timeout-ms`: the handlers' budget (becomes `GRACEFUL_SHUTDOWN_TIMEOUT_MS`).
pub fn timeout_ms(raw: &str) -> Result<u32, String> {
    parse_timeout_ms(raw).map_err(|_| {
        let l = limits();
        format!(
            "expected whole milliseconds from {} to {}, because the handlers run in the \
             runtime process, which Lambda stops about {} ms after SIGTERM, and the last \
             reports and the exit need {} ms of that; use for example the default {} \
             (the value becomes {ENV_TIMEOUT_MS})",
            l.timeout_ms.min,
            l.timeout_ms.max,
            l.shutdown.runtime_share_ms,
            l.shutdown.runtime_exit_reserve_ms,
            l.timeout_ms.default
        )
    })
}

/// `--function-name`: Lambda's rule for a function name, 1 to 64 letters,
/// digits, hyphens or underscores.
pub fn function_name(raw: &str) -> Result<String, String> {
    name(raw, 64).map_err(|why| {
        format!("{why}; a function name is 1 to 64 letters, digits, '-' or '_', for example my-function")
    })
}

/// `--layer-name`: Lambda's rule for a layer name, 1 to 140 letters, digits,
/// hyphens or underscores.
pub fn layer_name(raw: &str) -> Result<String, String> {
    name(raw, 140).map_err(|why| {
        format!("{why}; a layer name is 1 to 140 letters, digits, '-' or '_', for example graceful-shutdown-arm64")
    })
}

fn name(raw: &str, max: usize) -> Result<String, String> {
    if raw.is_empty() {
        return Err("the name is empty".into());
    }
    if raw.len() > max {
        return Err(format!("the name has {} characters", raw.len()));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!("{c:?} is not allowed in a name"));
    }
    Ok(raw.to_owned())
}

/// `--layer-arn`: a layer version ARN,
/// `arn:<partition>:lambda:<region>:<12-digit account>:layer:<name>:<version>`.
///
/// Split by hand rather than with a regular expression: the format is eight
/// colon-separated fields, and per-field checks give a message that says
/// which field is wrong.
pub fn layer_arn(raw: &str) -> Result<String, String> {
    const EXAMPLE: &str = "arn:aws:lambda:eu-west-1:123456789012:layer:graceful-shutdown-arm64:1";
    let fail = |why: &str| {
        Err(format!(
            "{why}; expected a layer version ARN such as {EXAMPLE}"
        ))
    };
    let parts: Vec<&str> = raw.split(':').collect();
    if parts.len() != 8 {
        return fail(&format!(
            "the ARN has {} colon-separated fields, not 8",
            parts.len()
        ));
    }
    let [arn, partition, service, region, account, kind, layer, version] = parts[..] else {
        return fail("the ARN is malformed");
    };
    if arn != "arn" || !partition.starts_with("aws") {
        return fail("the ARN must start with arn:aws");
    }
    if service != "lambda" || kind != "layer" {
        return fail("this is not a Lambda layer ARN");
    }
    let region_ok = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !region_ok {
        return fail(&format!("{region:?} is not a region"));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return fail(&format!("{account:?} is not a 12-digit account id"));
    }
    if name(layer, 140).is_err() {
        return fail(&format!("{layer:?} is not a layer name"));
    }
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
        return fail(
            "the ARN must end with the layer version number (publish-layer-version prints it)",
        );
    }
    Ok(raw.to_owned())
}

/// `--runtime`: a Lambda runtime identifier such as `provided.al2023`,
/// `nodejs22.x` or `python3.13`. Only the shape is checked here; cfn-lint and
/// Lambda know the current list.
pub fn runtime(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 32
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("expected a Lambda runtime identifier such as provided.al2023, nodejs22.x or python3.13".into())
    }
}

/// `--handler`: the function's handler (`bootstrap` for Rust and other
/// custom runtimes, `index.handler` for Node.js, ...).
pub fn handler(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 128
        && !raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("expected 1 to 128 characters without spaces or quotes, for example bootstrap or index.handler".into())
    }
}

/// Paths written into snippets: any non-empty path without control characters
/// (the renderers quote it for each format).
pub fn snippet_path(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.chars().any(char::is_control) {
        Err("expected a non-empty path without control characters".into())
    } else {
        Ok(raw.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_follows_the_shared_rules() {
        assert_eq!(port("4471"), Ok(4471));
        assert_eq!(port("65535"), Ok(65535));
        assert_eq!(
            port("9001").expect_err("refused"),
            "port 9001 is used by the Lambda Runtime API; use another port, for example the \
             default 4471 (the value becomes GRACEFUL_SHUTDOWN_PORT)"
        );
        assert!(port("80")
            .expect_err("refused")
            .starts_with("expected a port number from 1024 to 65535;"));
        assert!(port("abc").is_err());
    }

    #[test]
    fn timeout_follows_the_shared_rules() {
        assert_eq!(timeout_ms("280"), Ok(280));
        let e = timeout_ms("301").expect_err("refused");
        assert!(
            e.starts_with("expected whole milliseconds from 1 to 280"),
            "{e}"
        );
        assert!(e.contains("GRACEFUL_SHUTDOWN_TIMEOUT_MS"), "{e}");
    }

    #[test]
    fn names_and_arns() {
        assert!(function_name("my_fn-1").is_ok());
        assert!(function_name(&"a".repeat(65)).is_err());
        assert!(function_name("a b")
            .expect_err("refused")
            .starts_with("' ' is not allowed"));
        assert!(layer_name(&"a".repeat(140)).is_ok());
        assert!(layer_arn("arn:aws:lambda:eu-west-1:123456789012:layer:gs:3").is_ok());
        assert!(layer_arn("arn:aws-cn:lambda:cn-north-1:123456789012:layer:gs:3").is_ok());
        assert!(layer_arn("arn:aws:lambda:eu-west-1:123456789012:layer:gs").is_err());
        assert!(layer_arn("arn:aws:lambda:eu-west-1:12345:layer:gs:1")
            .expect_err("refused")
            .contains("12-digit"));
        assert!(layer_arn("arn:aws:s3:eu-west-1:123456789012:layer:gs:1").is_err());
        assert!(layer_arn("arn:aws:lambda:eu-west-1:123456789012:layer:gs:latest").is_err());
        assert!(runtime("provided.al2023").is_ok());
        assert!(runtime("Python3.13").is_err());
        assert!(handler("index.handler").is_ok());
        assert!(handler("a b").is_err());
    }
}
