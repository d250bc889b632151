//! The Runtime API (`/2018-06-01/runtime`) and the Extensions API
//! (`/2020-01-01/extension`) served on loopback, one file a role: the
//! [`state`] they share with the lifecycle, the Runtime API, the Extensions
//! API and the faults they inject. Paths and header names are the
//! protocol's (`graceful_shutdown_protocol::lambda`).

mod extensions_api;
mod faults;
mod runtime_api;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use graceful_shutdown_protocol::lambda::{extensions, runtime};
use serde_json::json;

use self::extensions_api as ext;
use self::runtime_api as rt;
pub use state::{
    Agent, Answer, FunctionInfo, Invocation, Platform, ReportedError, State, ACCOUNT_ID,
};

impl Platform {
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(runtime::INVOCATION_NEXT_PATH, get(rt::runtime_next))
            .route(
                runtime::INVOCATION_RESPONSE_PATH,
                post(rt::runtime_response),
            )
            .route(runtime::INVOCATION_ERROR_PATH, post(rt::runtime_error))
            .route(runtime::INIT_ERROR_PATH, post(rt::runtime_init_error))
            .route(extensions::REGISTER_PATH, post(ext::ext_register))
            .route(extensions::EVENT_NEXT_PATH, get(ext::ext_next))
            .route(extensions::INIT_ERROR_PATH, post(ext::ext_init_error))
            .route(extensions::EXIT_ERROR_PATH, post(ext::ext_exit_error))
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
