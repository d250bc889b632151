//! Storing batches in DynamoDB with `BatchWriteItem`.
//!
//! The request is built by a pure function ([`write_requests`]) and sent by
//! [`Store::put_batch`], which retries the items DynamoDB hands back as
//! unprocessed a bounded number of times.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;

use crate::buffer::Write;

/// Partition key attribute of the demo table.
pub const KEY: &str = "pk";
/// Attempts at a batch before its leftover items are reported as an error.
const MAX_ATTEMPTS: usize = 3;

/// Why a batch was written: it filled up, or the function is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredBy {
    /// A full batch, written during an invocation.
    Batch,
    /// The last, partial batch, written by the shutdown handler.
    Shutdown,
    /// The last, partial batch, handed off to the layer, which wrote it.
    Handoff,
}

impl StoredBy {
    fn as_str(self) -> &'static str {
        match self {
            StoredBy::Batch => "batch",
            StoredBy::Shutdown => "shutdown",
            StoredBy::Handoff => "handoff",
        }
    }
}

/// The `PutRequest`s for one batch. Pure.
pub fn write_requests(batch: &[Write], stored_by: StoredBy) -> Vec<WriteRequest> {
    batch
        .iter()
        .map(|write| {
            let item = HashMap::from([
                (KEY.to_owned(), AttributeValue::S(write.id.clone())),
                (
                    "accepted_at_ms".to_owned(),
                    AttributeValue::N(write.accepted_at_ms.to_string()),
                ),
                (
                    "stored_by".to_owned(),
                    AttributeValue::S(stored_by.as_str().to_owned()),
                ),
            ]);
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("an item is always set");
            WriteRequest::builder().put_request(put).build()
        })
        .collect()
}

/// The `BatchWriteItem` body of one batch into `table`, as DynamoDB's JSON
/// protocol takes it (for the handoff, which the layer signs and sends). Pure.
pub fn batch_write_body(table: &str, batch: &[Write], stored_by: StoredBy) -> String {
    let puts: Vec<serde_json::Value> = batch
        .iter()
        .map(|write| {
            serde_json::json!({"PutRequest": {"Item": {
                KEY: {"S": write.id},
                "accepted_at_ms": {"N": write.accepted_at_ms.to_string()},
                "stored_by": {"S": stored_by.as_str()},
            }}})
        })
        .collect();
    serde_json::json!({ "RequestItems": { table: puts } }).to_string()
}

/// A failed batch write, with how many items did not make it.
#[derive(Debug, thiserror::Error)]
#[error("could not store {unstored} of {total} items in table {table}: {reason}")]
pub struct StoreError {
    table: String,
    total: usize,
    unstored: usize,
    reason: String,
}

/// The DynamoDB table the writes go to.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A store writing to `table` with `client`.
    pub fn new(client: Client, table: String) -> Store {
        Store { client, table }
    }

    /// Write one batch (at most 25 items), retrying unprocessed items.
    pub async fn put_batch(&self, batch: &[Write], stored_by: StoredBy) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut requests = write_requests(batch, stored_by);
        for _ in 0..MAX_ATTEMPTS {
            let output = self
                .client
                .batch_write_item()
                .request_items(self.table.clone(), requests.clone())
                .send()
                .await
                .map_err(|e| {
                    self.error(
                        batch.len(),
                        requests.len(),
                        &aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    )
                })?;
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
        }
        Err(self.error(
            batch.len(),
            requests.len(),
            &"DynamoDB kept returning unprocessed items",
        ))
    }

    fn error(&self, total: usize, unstored: usize, reason: &dyn std::fmt::Display) -> StoreError {
        StoreError {
            table: self.table.clone(),
            total,
            unstored,
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_put_request_per_write_with_key_time_and_reason() {
        let batch = vec![
            Write {
                id: "a".into(),
                accepted_at_ms: 17,
            },
            Write {
                id: "b".into(),
                accepted_at_ms: 18,
            },
        ];
        let requests = write_requests(&batch, StoredBy::Shutdown);
        assert_eq!(requests.len(), 2);
        let item = requests[1].put_request().unwrap().item();
        assert_eq!(item[KEY], AttributeValue::S("b".into()));
        assert_eq!(item["accepted_at_ms"], AttributeValue::N("18".into()));
        assert_eq!(item["stored_by"], AttributeValue::S("shutdown".into()));
    }

    #[test]
    fn the_handoff_body_is_the_same_batch_in_dynamodb_json() {
        let batch = vec![Write {
            id: "a".into(),
            accepted_at_ms: 17,
        }];
        let body: serde_json::Value =
            serde_json::from_str(&batch_write_body("writes", &batch, StoredBy::Handoff)).unwrap();
        let item = &body["RequestItems"]["writes"][0]["PutRequest"]["Item"];
        assert_eq!(item["pk"]["S"], "a");
        assert_eq!(item["accepted_at_ms"]["N"], "17");
        assert_eq!(item["stored_by"]["S"], "handoff");
    }
}
