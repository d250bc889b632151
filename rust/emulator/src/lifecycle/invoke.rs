//! One invocation: INVOKE to the subscribed extensions, the request to the
//! runtime, its answer within the function timeout; then the environment
//! settles into idle.

use std::time::{Instant, SystemTime};

use graceful_shutdown_protocol::lambda::extensions::EVENT_INVOKE;
use serde_json::json;

use crate::api::{Answer, Invocation};
use crate::timeline::{EventKind, PLATFORM};

use super::{epoch_ms, Emulator};

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    Response(Vec<u8>),
    FunctionError(String),
    Timeout,
    /// The runtime process went away (crash, exit) before answering.
    RuntimeExited,
}

impl Emulator {
    /// Sends one invocation and waits for the runtime's answer and for every
    /// INVOKE-subscribed extension to call `next` again, within the function timeout.
    pub async fn invoke(&mut self, payload: Vec<u8>) -> InvokeOutcome {
        if self.runtime.as_ref().map_or(true, |c| c.exited().is_some()) {
            return InvokeOutcome::RuntimeExited;
        }
        self.thaw();
        self.idle_since = None;
        self.invoked += 1;
        let request_id = uuid::Uuid::new_v4().to_string();
        let timeout = self.scenario.timeout;
        let deadline_ms = epoch_ms(SystemTime::now() + timeout);
        let function_arn = format!(
            "arn:aws:lambda:us-east-1:{}:function:{}",
            crate::api::ACCOUNT_ID,
            self.scenario.function_name
        );
        let until = Instant::now() + timeout;
        self.rec.event(
            PLATFORM,
            EventKind::Invoke {
                number: self.invoked,
                request_id: request_id.clone(),
            },
        );
        {
            let mut st = self.platform.lock();
            for agent in st.agents.iter_mut().filter(|a| a.invoke) {
                agent.busy = true;
                self.rec.event(
                    &agent.name,
                    EventKind::InvokeEvent {
                        request_id: request_id.clone(),
                    },
                );
                agent.send(json!({
                    "eventType": EVENT_INVOKE,
                    "deadlineMs": deadline_ms,
                    "requestId": request_id,
                    "invokedFunctionArn": function_arn,
                    "tracing": { "type": "X-Amzn-Trace-Id", "value": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0" },
                }));
            }
        }
        self.platform.dispatch(Invocation {
            request_id: request_id.clone(),
            deadline_ms,
            function_arn,
            payload,
        });
        let id = request_id.clone();
        let outcome = self
            .wait_for(until, move |st, me| {
                let answer = st.answers.get(&id);
                if let Some(answer) = answer {
                    if st.agents.iter().all(|a| !a.busy) {
                        return Some(match answer {
                            Answer::Response(b) => InvokeOutcome::Response(b.clone()),
                            Answer::Error(t) => InvokeOutcome::FunctionError(t.clone()),
                        });
                    }
                }
                if me.runtime.as_ref().is_some_and(|c| c.exited().is_some()) && answer.is_none() {
                    return Some(InvokeOutcome::RuntimeExited);
                }
                None
            })
            .await;
        {
            let mut st = self.platform.lock();
            st.answers.remove(&request_id);
            st.sent_at.remove(&request_id);
        }
        match outcome {
            Some(InvokeOutcome::RuntimeExited) => {
                self.rec.event(
                    PLATFORM,
                    EventKind::InvokeFailed {
                        request_id,
                        error_type: "Runtime.ExitError".to_owned(),
                    },
                );
                InvokeOutcome::RuntimeExited
            }
            Some(o) => {
                // Answered: once the runtime is back in /invocation/next, the
                // environment is idle, and Lambda freezes it.
                self.settle(Instant::now() + self.scenario.timeout).await;
                o
            }
            None => {
                self.rec.event(
                    PLATFORM,
                    EventKind::InvokeTimeout {
                        request_id,
                        timeout_ms: timeout.as_millis() as u64,
                    },
                );
                InvokeOutcome::Timeout
            }
        }
    }
}
