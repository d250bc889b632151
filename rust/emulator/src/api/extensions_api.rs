//! The Extensions API (`/2020-01-01/extension`): extensions register, wait
//! for events, and report init and exit errors; answered as Lambda does,
//! refusals included.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use graceful_shutdown_protocol::lambda::extensions::{
    EVENT_INVOKE, EVENT_SHUTDOWN, FEATURE_ACCOUNT_ID, HEADER_ACCEPT_FEATURE, HEADER_ERROR_TYPE,
    HEADER_IDENTIFIER, HEADER_NAME,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::{accepted, error, faults, header, Agent, Platform, ReportedError, Shared, ACCOUNT_ID};
use crate::timeline::EventKind;

/// The body of `/register`. `events` may be missing or `null`: aws-lambda-go's
/// `WithEnableSIGTERM` registers its internal extension with `{"events":null}`,
/// which Lambda accepts (as an extension subscribed to nothing).
#[derive(Debug, Deserialize)]
struct RegisterBody {
    #[serde(default)]
    events: Option<Vec<String>>,
}

pub(super) async fn ext_register(AxState(p): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let name = header(&headers, HEADER_NAME).unwrap_or("").to_owned();
    let refuse = |status: StatusCode, error_type: &str, message: String| {
        let source = if name.is_empty() {
            "(unnamed)"
        } else {
            name.as_str()
        };
        p.rec.event(
            source,
            EventKind::RegisterRefused {
                status: status.as_u16(),
                error_type: error_type.to_owned(),
                message: message.clone(),
            },
        );
        error(status, error_type, &message)
    };
    if let Some((status, error_type, message)) = faults::register_refusal(p.register_status) {
        return refuse(status, error_type, message);
    }
    if name.is_empty() {
        return refuse(
            StatusCode::FORBIDDEN,
            "Extension.InvalidExtensionName",
            "Empty extension name".to_owned(),
        );
    }
    let events = match serde_json::from_slice::<RegisterBody>(&body) {
        Ok(b) => b.events.unwrap_or_default(),
        Err(e) => return refuse(StatusCode::FORBIDDEN, "InvalidRequestFormat", e.to_string()),
    };
    let mut invoke = false;
    let mut shutdown = false;
    for e in &events {
        match e.as_str() {
            EVENT_INVOKE => invoke = true,
            EVENT_SHUTDOWN => shutdown = true,
            other => {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "Extension.InvalidEventType",
                    format!("{other}: ErrorInvalidEventType"),
                )
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    {
        let mut st = p.lock();
        if !st.registration_open {
            drop(st);
            return refuse(
                StatusCode::FORBIDDEN,
                "Extension.RegistrationClosed",
                "Extension registration closed already".to_owned(),
            );
        }
        if st.agent_by_name(&name).is_some() {
            drop(st);
            return refuse(
                StatusCode::FORBIDDEN,
                "Extension.InvalidState",
                format!("{name} is already registered"),
            );
        }
        // Lambda matches the name against the files in /opt/extensions: no match
        // means an internal extension, which may not subscribe to SHUTDOWN.
        let internal = !st.expected.iter().any(|n| n == &name);
        if p.info.managed_instances && !internal && invoke {
            drop(st);
            return refuse(
                StatusCode::FORBIDDEN,
                "Extension.InvalidEventType",
                "INVOKE: ErrorInvalidEventType (Lambda Managed Instances allow external extensions SHUTDOWN only)".to_owned(),
            );
        }
        if internal && shutdown {
            drop(st);
            return refuse(
                StatusCode::FORBIDDEN,
                "Extension.InvalidEventType",
                "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension (the Lambda-Extension-Name header matches no file in extensions/, so this is an internal extension)".to_owned(),
            );
        }
        let (tx, rx) = mpsc::unbounded_channel();
        st.agents.push(Agent {
            id: id.clone(),
            name: name.clone(),
            internal,
            invoke,
            shutdown,
            ready: false,
            busy: false,
            tx,
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
        });
        p.rec.event(
            &name,
            EventKind::Registered {
                events: events.clone(),
                internal,
            },
        );
    }
    p.bump();
    let mut body = json!({
        "functionName": p.info.name,
        "functionVersion": p.info.version,
        "handler": p.info.handler,
    });
    if header(&headers, HEADER_ACCEPT_FEATURE)
        .is_some_and(|f| f.split(',').any(|f| f.trim() == FEATURE_ACCOUNT_ID))
    {
        body["accountId"] = json!(ACCOUNT_ID);
    }
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    if let (Ok(k), Ok(v)) = (
        HeaderName::from_bytes(HEADER_IDENTIFIER.as_bytes()),
        HeaderValue::from_str(&id),
    ) {
        resp.headers_mut().insert(k, v);
    }
    resp
}

/// Finds the agent of the request's identifier, or the 403 Lambda answers.
fn agent_of(p: &Platform, headers: &HeaderMap) -> Result<String, (&'static str, &'static str)> {
    let Some(id) = header(headers, HEADER_IDENTIFIER) else {
        return Err((
            "Extension.MissingExtensionIdentifier",
            "Missing Lambda-Extension-Identifier header",
        ));
    };
    let st = p.lock();
    match st.agents.iter().find(|a| a.id == id) {
        Some(a) => Ok(a.name.clone()),
        None => Err((
            "Extension.UnknownExtensionIdentifier",
            "Unknown extension identifier",
        )),
    }
}

fn forbidden((error_type, message): (&str, &str)) -> Response {
    error(StatusCode::FORBIDDEN, error_type, message)
}

pub(super) async fn ext_next(AxState(p): Shared, headers: HeaderMap) -> Response {
    let name = match agent_of(&p, &headers) {
        Ok(n) => n,
        Err(e) => return forbidden(e),
    };
    let rx = {
        let mut st = p.lock();
        let Some(agent) = st.agents.iter_mut().find(|a| a.name == name) else {
            return error(
                StatusCode::FORBIDDEN,
                "Extension.UnknownExtensionIdentifier",
                "Unknown extension identifier",
            );
        };
        if !agent.ready {
            agent.ready = true;
            p.rec.event(&name, EventKind::ExtensionReady);
        }
        agent.busy = false;
        agent.rx.clone()
    };
    p.bump();
    let mut rx = rx.lock().await;
    match rx.recv().await {
        Some(event) => (StatusCode::OK, Json(event)).into_response(),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Extension.Unavailable",
            "the emulator is stopping",
        ),
    }
}

pub(super) async fn ext_init_error(AxState(p): Shared, headers: HeaderMap) -> Response {
    let name = match agent_of(&p, &headers) {
        Ok(n) => n,
        Err(e) => return forbidden(e),
    };
    let error_type = header(&headers, HEADER_ERROR_TYPE)
        .unwrap_or("Extension.Unknown")
        .to_owned();
    p.rec.event(
        &name,
        EventKind::InitErrorReported {
            error_type: error_type.clone(),
        },
    );
    p.lock().init_errors.push(ReportedError {
        source: name,
        error_type,
    });
    p.bump();
    accepted()
}

pub(super) async fn ext_exit_error(AxState(p): Shared, headers: HeaderMap) -> Response {
    let name = match agent_of(&p, &headers) {
        Ok(n) => n,
        Err(e) => return forbidden(e),
    };
    let error_type = header(&headers, HEADER_ERROR_TYPE)
        .unwrap_or("Extension.Unknown")
        .to_owned();
    p.rec
        .event(&name, EventKind::ExitErrorReported { error_type });
    p.bump();
    accepted()
}

#[cfg(test)]
mod tests {
    use super::RegisterBody;

    fn events(body: &str) -> Result<Vec<String>, serde_json::Error> {
        serde_json::from_str::<RegisterBody>(body).map(|b| b.events.unwrap_or_default())
    }

    #[test]
    fn a_register_body_without_events_or_with_null_events_subscribes_to_nothing() {
        assert_eq!(
            events(r#"{"events":null}"#).expect("accepted"),
            Vec::<String>::new()
        );
        assert_eq!(events("{}").expect("accepted"), Vec::<String>::new());
        assert_eq!(
            events(r#"{"events":["SHUTDOWN"]}"#).expect("accepted"),
            vec!["SHUTDOWN"]
        );
        assert!(events(r#"{"events":"SHUTDOWN"}"#).is_err());
    }
}
