//! The Runtime API (`/2018-06-01/runtime`): the runtime polls for
//! invocations, answers them, and reports init errors.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use graceful_shutdown_protocol::lambda::runtime::{
    HEADER_DEADLINE_MS, HEADER_ERROR_TYPE, HEADER_INVOKED_FUNCTION_ARN, HEADER_REQUEST_ID,
    HEADER_TRACE_ID,
};

use super::{accepted, error, header, millis_since, Answer, Platform, ReportedError, Shared};
use crate::timeline::{EventKind, RUNTIME};

/// One blocked `/invocation/next` call, counted in `State::runtime_waiting`.
struct Waiting(Arc<Platform>);

impl Waiting {
    fn new(p: Arc<Platform>) -> Waiting {
        p.lock().runtime_waiting += 1;
        p.bump();
        Waiting(p)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        {
            let mut st = self.0.lock();
            st.runtime_waiting = st.runtime_waiting.saturating_sub(1);
        }
        self.0.bump();
    }
}

pub(super) async fn runtime_next(AxState(p): Shared) -> Response {
    {
        let mut st = p.lock();
        if !st.runtime_ready {
            st.runtime_ready = true;
            p.rec.event(RUNTIME, EventKind::RuntimeReady);
        }
    }
    // Counted while the call is blocked; the guard uncounts it however the
    // call ends (an invocation, or the runtime going away).
    let waiting = Waiting::new(p.clone());
    let rx = p.runtime_rx.clone();
    let mut rx = rx.lock().await;
    let received = rx.recv().await;
    drop(waiting);
    let Some(inv) = received else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Unavailable",
            "the emulator is stopping",
        );
    };
    let mut resp = (StatusCode::OK, inv.payload).into_response();
    let h = resp.headers_mut();
    let mut put = |k: &str, v: &str| {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    };
    put("content-type", "application/json");
    put(HEADER_REQUEST_ID, &inv.request_id);
    put(HEADER_DEADLINE_MS, &inv.deadline_ms.to_string());
    put(HEADER_INVOKED_FUNCTION_ARN, &inv.function_arn);
    put(
        HEADER_TRACE_ID,
        "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
    );
    resp
}

pub(super) async fn runtime_response(
    AxState(p): Shared,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    {
        let mut st = p.lock();
        let duration_ms = millis_since(st.sent_at.get(&id).copied());
        p.rec.event(
            RUNTIME,
            EventKind::Response {
                request_id: id.clone(),
                bytes: body.len(),
                duration_ms,
            },
        );
        st.answers.insert(id, Answer::Response(body.to_vec()));
    }
    p.bump();
    accepted()
}

pub(super) async fn runtime_error(
    AxState(p): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let error_type = header(&headers, HEADER_ERROR_TYPE)
        .unwrap_or("Unhandled")
        .to_owned();
    {
        let mut st = p.lock();
        p.rec.event(
            RUNTIME,
            EventKind::FunctionError {
                request_id: id.clone(),
                error_type: error_type.clone(),
            },
        );
        st.answers.insert(id, Answer::Error(error_type));
    }
    p.bump();
    accepted()
}

pub(super) async fn runtime_init_error(AxState(p): Shared, headers: HeaderMap) -> Response {
    let error_type = header(&headers, HEADER_ERROR_TYPE)
        .unwrap_or("Runtime.Unknown")
        .to_owned();
    p.rec.event(
        RUNTIME,
        EventKind::InitErrorReported {
            error_type: error_type.clone(),
        },
    );
    p.lock().init_errors.push(ReportedError {
        source: RUNTIME.to_owned(),
        error_type,
    });
    p.bump();
    accepted()
}
