//! The state the two APIs share with the lifecycle: who registered, who is
//! ready, which invocation is where, and the channels that hand events and
//! invocations to the blocked `/next` calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::timeline::Recorder;

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
    pub(super) tx: mpsc::UnboundedSender<Value>,
    pub(super) rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>>,
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
    pub(super) state: Mutex<State>,
    pub(super) changed: watch::Sender<u64>,
    pub(super) runtime_tx: mpsc::UnboundedSender<Invocation>,
    pub(super) runtime_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    pub(super) info: FunctionInfo,
    pub(super) register_status: Option<u16>,
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
}
