"""The demo's Python function (python3.12).

Buffers writes in memory, stores them in DynamoDB (``TABLE_NAME``) in batches
of ``BATCH_SIZE``, and stores the last, partial batch from a shutdown handler
of lambda_graceful_shutdown on SIGTERM. Without the graceful-shutdown layer no
SIGTERM comes and that batch is lost. With ``SHUTDOWN_FLUSH=handoff`` the
handler hands the signed BatchWriteItem to the layer instead, which sends it
after the runtime has gone, for a store too slow for the runtime's ~300 ms.

Each invocation carries ``{"writes": ["id-1", "id-2", ...]}``. boto3 is the
one the Lambda runtime provides (not in the asset); it honours
``AWS_ENDPOINT_URL``, so the same code writes to a local endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any, Dict, List, Mapping, NamedTuple

import boto3

from lambda_graceful_shutdown import GracefulShutdown, aws_json_request, handoff

# DynamoDB's BatchWriteItem takes at most 25 items per request.
MAX_BATCH_SIZE = 25
# Attempts at one batch while DynamoDB returns unprocessed items.
MAX_ATTEMPTS = 5

logger = logging.getLogger("buffered_writer")
logger.setLevel(logging.INFO)


FLUSH_MODES = ("direct", "handoff")


class Config(NamedTuple):
    table: str
    batch_size: int
    flush: str


class Write(NamedTuple):
    id: str
    accepted_at_ms: int


def config_from(env: Mapping[str, str]) -> Config:
    """The function's settings, read once at cold start."""
    table = env.get("TABLE_NAME", "").strip()
    if not table:
        raise ValueError("TABLE_NAME is not set: set it to the name of the DynamoDB table to write to")
    raw = env.get("BATCH_SIZE", "10")
    size = int(raw) if re.fullmatch(r"\s*\d+\s*", raw) else 0
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ValueError(f"BATCH_SIZE={raw!r} is not valid: use a whole number from 1 to {MAX_BATCH_SIZE}")
    flush = env.get("SHUTDOWN_FLUSH", "").strip() or "direct"
    if flush not in FLUSH_MODES:
        raise ValueError(f"SHUTDOWN_FLUSH={flush!r} is not valid: use direct or handoff")
    return Config(table, size, flush)


def write_requests(batch: List[Write], stored_by: str) -> List[Dict[str, Any]]:
    """The BatchWriteItem requests of one batch (pure)."""
    return [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": w.id},
                    "accepted_at_ms": {"N": str(w.accepted_at_ms)},
                    "stored_by": {"S": stored_by},
                }
            }
        }
        for w in batch
    ]


config = config_from(os.environ)
ddb = boto3.client("dynamodb")
pending: List[Write] = []
# No lock: Lambda sends SIGTERM only after the last invocation has returned,
# so the handler and an invocation never touch the buffer at the same time.


def put_batch(batch: List[Write], stored_by: str) -> None:
    """Stores one batch, retrying unprocessed items."""
    requests = write_requests(batch, stored_by)
    for _ in range(MAX_ATTEMPTS):
        if not requests:
            return
        out = ddb.batch_write_item(RequestItems={config.table: requests})
        requests = out.get("UnprocessedItems", {}).get(config.table, [])
    if requests:
        raise RuntimeError(
            f"{len(requests)} of {len(batch)} writes not stored in {config.table}: "
            "DynamoDB kept returning unprocessed items"
        )


shutdown = GracefulShutdown.from_env()


@shutdown.on_shutdown("flush-writes")
def flush_writes() -> None:
    last = pending[:]
    del pending[:]
    if last and config.flush == "handoff":
        body = json.dumps({"RequestItems": {config.table: write_requests(last, "handoff")}})
        result = handoff(aws_json_request("dynamodb", "DynamoDB_20120810.BatchWriteItem", body))
        if result.ok:
            logger.info("handed the buffered writes to the layer handed_off=%d", len(last))
            return
        # Refused (the library logged why): the writes are still ours to store.
    if last:
        put_batch(last, "shutdown")
    logger.info("flushed the buffered writes stored=%d", len(last))


shutdown.install()


def handler(event: Dict[str, Any], context: Any) -> Dict[str, int]:
    writes = event.get("writes") if isinstance(event, dict) else None
    if not isinstance(writes, list) or not all(isinstance(w, str) for w in writes):
        raise ValueError("the event needs `writes`: a list of item ids (strings)")
    accepted_at_ms = int(time.time() * 1000)
    ready: List[List[Write]] = []
    pending.extend(Write(w, accepted_at_ms) for w in writes)
    while len(pending) >= config.batch_size:
        ready.append(pending[: config.batch_size])
        del pending[: config.batch_size]
    buffered = len(pending)
    stored = 0
    for batch in ready:
        put_batch(batch, "batch")
        stored += len(batch)
    logger.info("writes accepted accepted=%d stored=%d buffered=%d", len(writes), stored, buffered)
    return {"accepted": len(writes), "stored": stored, "buffered": buffered}
