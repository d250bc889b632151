/**
 * The main-thread part, for functions whose handler module runs in worker
 * threads (Lambda Managed Instances, `AWS_LAMBDA_MAX_CONCURRENCY` set, where
 * the Node.js runtime client loads the handler only in worker threads and
 * Node emits no signal events there). Load it before the runtime client:
 *
 *   NODE_OPTIONS="--import lambda-graceful-shutdown/register"
 *
 * On SIGTERM or SIGINT it tells every worker thread that installed handlers
 * to run them, waits for their reports, then ends the process. Harmless when
 * the handler runs on the main thread: the same coordinator serves both.
 */
import { isMainThread } from 'node:worker_threads';

import { mainThreadLogger } from './log.js';
import { RELAY_ENV } from './relay.js';
import { coordinator } from './exit.js';

if (isMainThread) {
  // Worker threads get a copy of the environment: this tells them the relay is there.
  process.env[RELAY_ENV] = '1';
  const c = coordinator();
  c.log = mainThreadLogger();
  c.listen();
}
