// The hand-written pattern: a SIGTERM listener that does 200 ms of work and
// exits. On the official client process.exit() hangs, so the process stays
// until the SIGKILL at the end of the runtime's share; the work is done
// (or not) before that.
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const out = (line) => appendFileSync(process.env.PROBE_OUTPUT, `${line}\n`);

process.on('SIGTERM', async () => {
  out('start work');
  await sleep(200);
  out('work');
  process.exit(0);
});

export const handler = async (event) => event;
