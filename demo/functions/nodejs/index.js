// The demo's Node.js function (nodejs22.x): buffers writes in memory, stores
// them in DynamoDB (TABLE_NAME) in batches of BATCH_SIZE, and stores the last,
// partial batch from a shutdown handler of lambda-graceful-shutdown on SIGTERM.
// Without the graceful-shutdown layer no SIGTERM comes and that batch is lost.
// With SHUTDOWN_FLUSH=handoff the handler hands the signed BatchWriteItem to
// the layer instead, which sends it after the runtime has gone, for a store
// too slow for the runtime's ~300 ms.
//
// Each invocation carries {"writes": ["id-1", "id-2", ...]}. The AWS SDK for
// JavaScript v3 is the one the Lambda runtime provides (not in the asset); it
// honours AWS_ENDPOINT_URL, so the same code writes to a local endpoint.
// CommonJS: `require` finds the runtime's SDK through NODE_PATH, as on Lambda.
'use strict';
const { BatchWriteItemCommand, DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { GracefulShutdown, awsJsonRequest, handoff } = require('lambda-graceful-shutdown');

/** DynamoDB's BatchWriteItem takes at most 25 items per request. */
const MAX_BATCH_SIZE = 25;
/** Attempts at one batch while DynamoDB returns unprocessed items. */
const MAX_ATTEMPTS = 5;
/** How the shutdown handler stores the last batch (SHUTDOWN_FLUSH): itself, or handed to the layer. */
const FLUSH_MODES = ['direct', 'handoff'];

/** The function's settings, read once at cold start. */
function configFrom(env) {
  const table = (env.TABLE_NAME ?? '').trim();
  if (!table) throw new Error('TABLE_NAME is not set: set it to the name of the DynamoDB table to write to');
  const raw = env.BATCH_SIZE ?? '10';
  const batchSize = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(batchSize >= 1 && batchSize <= MAX_BATCH_SIZE)) {
    throw new Error(`BATCH_SIZE=${JSON.stringify(raw)} is not valid: use a whole number from 1 to ${MAX_BATCH_SIZE}`);
  }
  const flush = (env.SHUTDOWN_FLUSH ?? '').trim() || 'direct';
  if (!FLUSH_MODES.includes(flush)) {
    throw new Error(`SHUTDOWN_FLUSH=${JSON.stringify(flush)} is not valid: use direct or handoff`);
  }
  return { table, batchSize, flush };
}

/** The BatchWriteItem requests of one batch (pure). */
function writeRequests(batch, storedBy) {
  return batch.map((w) => ({
    PutRequest: {
      Item: { pk: { S: w.id }, accepted_at_ms: { N: String(w.acceptedAtMs) }, stored_by: { S: storedBy } },
    },
  }));
}

const config = configFrom(process.env);
// The handoff's code is loaded on first use; load it now, at init, rather
// than on the shutdown path, where a 128 MB function's CPU share is short.
if (config.flush === 'handoff') require('lambda-graceful-shutdown/handoff');
const ddb = new DynamoDBClient({});
const pending = [];

/** Stores one batch, retrying unprocessed items; `abortSignal` ends it early. */
async function putBatch(batch, storedBy, abortSignal) {
  let requests = writeRequests(batch, storedBy);
  for (let attempt = 0; attempt < MAX_ATTEMPTS && requests.length > 0; attempt++) {
    const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [config.table]: requests } }), { abortSignal });
    requests = out.UnprocessedItems?.[config.table] ?? [];
  }
  if (requests.length > 0) {
    throw new Error(`${requests.length} of ${batch.length} writes not stored in ${config.table}: DynamoDB kept returning unprocessed items`);
  }
}

GracefulShutdown.fromEnv()
  .onShutdown('flush-writes', async (signal) => {
    const last = pending.splice(0);
    if (last.length > 0 && config.flush === 'handoff') {
      const body = JSON.stringify({ RequestItems: { [config.table]: writeRequests(last, 'handoff') } });
      const result = await handoff(awsJsonRequest({ service: 'dynamodb', target: 'DynamoDB_20120810.BatchWriteItem', body }));
      if (result.ok) {
        console.log(`handed the buffered writes to the layer handed_off=${last.length}`);
        return;
      }
      // Refused (the library logged why): the writes are still ours to store.
    }
    if (last.length > 0) await putBatch(last, 'shutdown', signal);
    console.log(`flushed the buffered writes stored=${last.length}`);
  })
  .install();

exports.handler = async (event) => {
  const writes = event?.writes;
  if (!Array.isArray(writes) || !writes.every((w) => typeof w === 'string')) {
    throw new Error('the event needs `writes`: an array of item ids (strings)');
  }
  const acceptedAtMs = Date.now();
  pending.push(...writes.map((id) => ({ id, acceptedAtMs })));
  let stored = 0;
  while (pending.length >= config.batchSize) {
    const batch = pending.splice(0, config.batchSize);
    await putBatch(batch, 'batch');
    stored += batch.length;
  }
  console.log(`writes accepted accepted=${writes.length} stored=${stored} buffered=${pending.length}`);
  return { accepted: writes.length, stored, buffered: pending.length };
};
