//! The Runtime API (`/2018-06-01/runtime`) and the Extensions API
//! (`/2020-01-01/extension`) served on loopback, with the state they share
//! with the lifecycle: who registered, who is ready, which invocation is where.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::timeline::{EventKind, Recorder, RUNTIME};

pub const EXTENSION_NAME_HEADER: &str = "lambda-extension-name";
pub const EXTENSION_ID_HEADER: &str = "lambda-extension-identifier";
pub const EXTENSION_ERROR_TYPE_HEADER: &str = "lambda-extension-function-error-type";
pub const EXTENSION_FEATURE_HEADER: &str = "lambda-extension-accept-feature";
pub const RUNTIME_ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";
/// The account id the emulated environment reports (the `accountId` feature).
pub const ACCOUNT_ID: &str = "123456789012";

/// One invocation, as handed to the runtime.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub deadline_ms: u64,
    pub function_arn: String,
    pub payload: Vec<u8>,
}

/// What the runtime answered for an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Response(Vec<u8>),
    Error(String),
}

/// A registered extension (external: started by us from a layer; internal:
/// registered under a name that matches no file).
#[derive(Debug)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub internal: bool,
    pub invoke: bool,
    pub shutdown: bool,
    /// Called `/event/next` at least once.
    pub ready: bool,
    /// Holding an INVOKE event it has not answered with `/event/next` yet.
    pub busy: bool,
    tx: mpsc::UnboundedSender<Value>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>>,
}

impl Agent {
    /// Queues an event for the agent's `/event/next`.
    pub fn send(&self, event: Value) {
        let _ = self.tx.send(event);
    }
}

/// An error that a process reported on `/init/error`.
#[derive(Debug, Clone)]
pub struct ReportedError {
    pub source: String,
    pub error_type: String,
}

/// State shared by the API handlers and the lifecycle.
#[derive(Debug)]
pub struct State {
    /// File names of the external extensions that were started.
    pub expected: Vec<String>,
    pub agents: Vec<Agent>,
    pub registration_open: bool,
    pub runtime_ready: bool,
    /// How many `/invocation/next` calls are blocked right now (several on
    /// Managed Instances, where each worker polls).
    pub runtime_waiting: usize,
    pub answers: HashMap<String, Answer>,
    /// When each pending invocation was sent.
    pub sent_at: HashMap<String, Instant>,
    pub init_errors: Vec<ReportedError>,
}

impl State {
    pub fn agent_by_name(&self, name: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.name == name)
    }
}

/// Metadata the register answer carries.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    pub name: String,
    pub version: String,
    pub handler: String,
    /// Lambda Managed Instances (`AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`):
    /// external extensions may subscribe to SHUTDOWN only.
    pub managed_instances: bool,
}

#[derive(Debug)]
pub struct Platform {
    pub rec: Recorder,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    runtime_tx: mpsc::UnboundedSender<Invocation>,
    runtime_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    info: FunctionInfo,
    register_status: Option<u16>,
}

impl Platform {
    pub fn new(rec: Recorder, info: FunctionInfo, register_status: Option<u16>) -> Arc<Platform> {
        let (runtime_tx, runtime_rx) = mpsc::unbounded_channel();
        Arc::new(Platform {
            rec,
            state: Mutex::new(State {
                expected: Vec::new(),
                agents: Vec::new(),
                registration_open: true,
                runtime_ready: false,
                runtime_waiting: 0,
                answers: HashMap::new(),
                sent_at: HashMap::new(),
                init_errors: Vec::new(),
            }),
            changed: watch::channel(0).0,
            runtime_tx,
            runtime_rx: Arc::new(tokio::sync::Mutex::new(runtime_rx)),
            info,
            register_status,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // Handlers never panic while holding the lock; if one did, the state
        // is still consistent field by field, so keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes everyone waiting for a state change.
    pub fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver to wait for the next state change on.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Hands an invocation to the runtime's `/invocation/next`.
    pub fn dispatch(&self, invocation: Invocation) {
        self.lock()
            .sent_at
            .insert(invocation.request_id.clone(), Instant::now());
        let _ = self.runtime_tx.send(invocation);
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(runtime_next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(runtime_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(runtime_error),
            )
            .route("/2018-06-01/runtime/init/error", post(runtime_init_error))
            .route("/2020-01-01/extension/register", post(ext_register))
            .route("/2020-01-01/extension/event/next", get(ext_next))
            .route("/2020-01-01/extension/init/error", post(ext_init_error))
            .route("/2020-01-01/extension/exit/error", post(ext_exit_error))
            .with_state(self.clone())
    }

    /// Serves the APIs on a free loopback port; returns the address.
    pub async fn serve(
        self: &Arc<Self>,
    ) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = self.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((addr, task))
    }
}

type Shared = AxState<Arc<Platform>>;

fn error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errorMessage": message, "errorType": error_type })),
    )
        .into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn millis_since(t: Option<Instant>) -> u64 {
    t.map(|t| t.elapsed().as_millis() as u64).unwrap_or(0)
}

// ---- Runtime API ----

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

async fn runtime_next(AxState(p): Shared) -> Response {
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
    let mut put = |k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &inv.request_id);
    put("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &inv.function_arn);
    put(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
    );
    resp
}

async fn runtime_response(AxState(p): Shared, Path(id): Path<String>, body: Bytes) -> Response {
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

async fn runtime_error(AxState(p): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let error_type = header(&headers, RUNTIME_ERROR_TYPE_HEADER)
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

async fn runtime_init_error(AxState(p): Shared, headers: HeaderMap) -> Response {
    let error_type = header(&headers, RUNTIME_ERROR_TYPE_HEADER)
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

// ---- Extensions API ----

#[derive(Debug, Deserialize)]
struct RegisterBody {
    #[serde(default)]
    events: Vec<String>,
}

async fn ext_register(AxState(p): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let name = header(&headers, EXTENSION_NAME_HEADER)
        .unwrap_or("")
        .to_owned();
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
    if let Some(code) = p.register_status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return refuse(
            status,
            "Fault.Injected",
            format!("the emulator answers {code} to register (fault injection)"),
        );
    }
    if name.is_empty() {
        return refuse(
            StatusCode::FORBIDDEN,
            "Extension.InvalidExtensionName",
            "Empty extension name".to_owned(),
        );
    }
    let events = match serde_json::from_slice::<RegisterBody>(&body) {
        Ok(b) => b.events,
        Err(e) => return refuse(StatusCode::FORBIDDEN, "InvalidRequestFormat", e.to_string()),
    };
    let mut invoke = false;
    let mut shutdown = false;
    for e in &events {
        match e.as_str() {
            "INVOKE" => invoke = true,
            "SHUTDOWN" => shutdown = true,
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
    if header(&headers, EXTENSION_FEATURE_HEADER)
        .is_some_and(|f| f.split(',').any(|f| f.trim() == "accountId"))
    {
        body["accountId"] = json!(ACCOUNT_ID);
    }
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(EXTENSION_ID_HEADER, v);
    }
    resp
}

/// Finds the agent of the request's identifier, or the 403 Lambda answers.
fn agent_of(p: &Platform, headers: &HeaderMap) -> Result<String, (&'static str, &'static str)> {
    let Some(id) = header(headers, EXTENSION_ID_HEADER) else {
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

async fn ext_next(AxState(p): Shared, headers: HeaderMap) -> Response {
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

async fn ext_init_error(AxState(p): Shared, headers: HeaderMap) -> Response {
    let name = match agent_of(&p, &headers) {
        Ok(n) => n,
        Err(e) => return forbidden(e),
    };
    let error_type = header(&headers, EXTENSION_ERROR_TYPE_HEADER)
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

async fn ext_exit_error(AxState(p): Shared, headers: HeaderMap) -> Response {
    let name = match agent_of(&p, &headers) {
        Ok(n) => n,
        Err(e) => return forbidden(e),
    };
    let error_type = header(&headers, EXTENSION_ERROR_TYPE_HEADER)
        .unwrap_or("Extension.Unknown")
        .to_owned();
    p.rec
        .event(&name, EventKind::ExitErrorReported { error_type });
    p.bump();
    accepted()
}
