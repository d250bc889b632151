//! Demo function: a buffered writer that must not lose its last batch.
//!
//! Each invocation carries `{"writes": ["id-1", "id-2", ...]}`. The function
//! keeps the writes in memory and writes them to DynamoDB (`TABLE_NAME`) in
//! batches of `BATCH_SIZE`, as batched writers and metric buffers do. The last,
//! partial batch is still in memory when Lambda retires the environment: the
//! `flush-writes` shutdown handler writes it on SIGTERM. Without the
//! graceful-shutdown layer, no SIGTERM ever comes and those writes are lost.
//! With `SHUTDOWN_FLUSH=handoff` the handler does not write the batch itself:
//! it hands the signed `BatchWriteItem` to the layer, which sends it after
//! the runtime has gone, for a store too slow for the runtime's ~300 ms.
//!
//! The DynamoDB client is the AWS SDK for Rust: it honours `AWS_ENDPOINT_URL`,
//! so the same binary writes to a local endpoint in the demo.

mod buffer;
mod config;
mod store;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_graceful_shutdown::Handed;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use buffer::{Buffer, Write};
use config::{Config, Flush};
use store::{batch_write_body, Store, StoredBy};

/// The invocation payload.
#[derive(Debug, Deserialize)]
struct Request {
    /// Keys of the items to write.
    writes: Vec<String>,
}

/// What the invocation did.
#[derive(Debug, Serialize)]
struct Response {
    accepted: usize,
    stored: usize,
    buffered: usize,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;

    // The SDK's HTTPS client on rustls with ring (see Cargo.toml for why not aws-lc).
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    let buffer = Arc::new(Mutex::new(Buffer::new(config.batch_size)));

    let (to_flush, flush_store, flush) = (buffer.clone(), store.clone(), config.flush);
    lambda_graceful_shutdown::GracefulShutdown::from_env()
        .on_shutdown("flush-writes", move || async move {
            let last = to_flush.lock().await.drain();
            if flush == Flush::Handoff && !last.is_empty() {
                let body = batch_write_body(flush_store.table(), &last, StoredBy::Handoff);
                let put = lambda_graceful_shutdown::aws_json_request(
                    "dynamodb",
                    "DynamoDB_20120810.BatchWriteItem",
                    &body,
                )?;
                match lambda_graceful_shutdown::handoff(vec![put]).await {
                    Handed::Taken { .. } => {
                        tracing::info!(
                            handed_off = last.len(),
                            "handed the buffered writes to the layer"
                        );
                        return Ok(());
                    }
                    // Logged by the library; the writes are still ours to store.
                    Handed::Refused { .. } => {}
                }
            }
            flush_store.put_batch(&last, StoredBy::Shutdown).await?;
            tracing::info!(stored = last.len(), "flushed the buffered writes");
            Ok::<(), Error>(())
        })
        .install();

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| {
        let (buffer, store) = (buffer.clone(), store.clone());
        async move { handle(event.payload, &buffer, &store).await }
    }))
    .await
}

/// Buffer the writes; store the batches that filled up.
async fn handle(
    request: Request,
    buffer: &Mutex<Buffer>,
    store: &Store,
) -> Result<Response, Error> {
    let accepted_at_ms = now_ms();
    let accepted = request.writes.len();
    let writes = request
        .writes
        .into_iter()
        .map(|id| Write { id, accepted_at_ms });
    let (ready, buffered) = {
        let mut buffer = buffer.lock().await;
        let ready = buffer.push(writes);
        (ready, buffer.len())
    };
    let mut stored = 0;
    for batch in &ready {
        store.put_batch(batch, StoredBy::Batch).await?;
        stored += batch.len();
    }
    tracing::info!(accepted, stored, buffered, "writes accepted");
    Ok(Response {
        accepted,
        stored,
        buffered,
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
