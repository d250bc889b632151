//! The canonical example: a function that buffers writes across invocations
//! and must not lose them when Lambda retires the environment.
//!
//! - Each invocation appends its event to an in-memory batch; a full batch
//!   (25 records) is written at once, as a real batched writer would do.
//! - On shutdown, the `flush` handler writes whatever is still buffered, and
//!   the `close-pool` handler closes the (simulated) connection pool.
//!
//! The "durable store" is a file, so that tests can see what was saved:
//! `BUFFERED_WRITER_OUTPUT` names it (unset: records are only logged). Lines:
//! `record <event json>` per record, `pool closed <n> connections` at the end.
//!
//! Run it under the local emulator or in Lambda with the graceful-shutdown
//! layer attached; `GRACEFUL_SHUTDOWN_*` variables configure the library.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

const BATCH_SIZE: usize = 25;

/// Records kept in memory until a batch is full, or until shutdown.
#[derive(Debug)]
struct BufferedWriter {
    pending: Mutex<Vec<String>>,
    output: Option<PathBuf>,
}

impl BufferedWriter {
    fn new(output: Option<PathBuf>) -> BufferedWriter {
        BufferedWriter {
            pending: Mutex::new(Vec::new()),
            output,
        }
    }

    async fn write(&self, record: String) -> Result<(), Error> {
        let mut pending = self.pending.lock().await;
        pending.push(record);
        if pending.len() >= BATCH_SIZE {
            let batch = std::mem::take(&mut *pending);
            drop(pending);
            self.store(&batch).await?;
        }
        Ok(())
    }

    /// Write everything still buffered. Called on shutdown.
    async fn flush(&self) -> Result<usize, Error> {
        let batch = std::mem::take(&mut *self.pending.lock().await);
        self.store(&batch).await?;
        Ok(batch.len())
    }

    async fn store(&self, batch: &[String]) -> Result<(), Error> {
        let text: String = batch.iter().map(|r| format!("record {r}\n")).collect();
        match &self.output {
            Some(path) => append(path, &text).await?,
            None => tracing::info!(records = batch.len(), "stored a batch"),
        }
        Ok(())
    }
}

/// A stand-in for a database pool: connections that must be closed politely,
/// or the server keeps half-open sessions and their locks.
#[derive(Debug)]
struct ConnectionPool {
    open: Mutex<usize>,
    output: Option<PathBuf>,
}

impl ConnectionPool {
    fn connect(size: usize, output: Option<PathBuf>) -> ConnectionPool {
        ConnectionPool {
            open: Mutex::new(size),
            output,
        }
    }

    async fn close(&self) -> Result<(), Error> {
        let mut open = self.open.lock().await;
        let closed = *open;
        // Saying goodbye to the server takes a round trip per connection.
        for _ in 0..closed {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        *open = 0;
        if let Some(path) = &self.output {
            append(path, &format!("pool closed {closed} connections\n")).await?;
        }
        tracing::info!(closed, "connection pool closed");
        Ok(())
    }
}

async fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(text.as_bytes()).await?;
    file.flush().await
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();

    let output = std::env::var_os("BUFFERED_WRITER_OUTPUT").map(PathBuf::from);
    let writer = Arc::new(BufferedWriter::new(output.clone()));
    let pool = Arc::new(ConnectionPool::connect(4, output));

    let to_flush = writer.clone();
    let to_close = pool.clone();
    lambda_graceful_shutdown::GracefulShutdown::from_env()
        .on_shutdown("flush", move || async move {
            let records = to_flush.flush().await?;
            tracing::info!(records, "flushed the buffered records");
            Ok::<(), Error>(())
        })
        .on_shutdown("close-pool", move || async move { to_close.close().await })
        .install();

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let writer = writer.clone();
        async move {
            writer.write(event.payload.to_string()).await?;
            Ok::<Value, Error>(serde_json::json!({ "buffered": true }))
        }
    }))
    .await
}
