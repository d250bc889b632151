import assert from 'node:assert/strict';
import { test } from 'node:test';

import { configFromLookup, GracefulShutdown, LIMITS } from 'lambda-graceful-shutdown';
import { recordingLogger } from '../helpers.mjs';

const lookup = (vars) => (name) => vars[name];

test('defaults come from the limits file', () => {
  const { config, problems } = configFromLookup(lookup({}));
  assert.deepEqual(problems, []);
  assert.deepEqual(config, {
    port: LIMITS.port.default,
    timeoutMs: LIMITS.timeoutMs.default,
    secretFile: LIMITS.secretFileDefault,
  });
  assert.equal(config.port, 4471);
  assert.equal(config.timeoutMs, 250);
  assert.equal(config.secretFile, '/tmp/.graceful-shutdown.secret');
});

test('good values are used', () => {
  const { config, problems } = configFromLookup(
    lookup({
      GRACEFUL_SHUTDOWN_PORT: ' 20001 ',
      GRACEFUL_SHUTDOWN_TIMEOUT_MS: '280',
      GRACEFUL_SHUTDOWN_SECRET_FILE: '/tmp/x.secret',
    }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(config, { port: 20001, timeoutMs: 280, secretFile: '/tmp/x.secret' });
  assert.equal(configFromLookup(lookup({ GRACEFUL_SHUTDOWN_TIMEOUT_MS: '1' })).config.timeoutMs, 1);
});

test('bad values name the variable and the value, then the default, word for word as the Rust library', () => {
  const { config, problems } = configFromLookup(
    lookup({ GRACEFUL_SHUTDOWN_PORT: '9001', GRACEFUL_SHUTDOWN_TIMEOUT_MS: '5000', GRACEFUL_SHUTDOWN_SECRET_FILE: ' ' }),
  );
  assert.deepEqual(config, configFromLookup(lookup({})).config);
  assert.deepEqual(
    problems.map((p) => p.message),
    [
      'GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API (default 4471), got "9001"; using the default 4471',
      "GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds from 1 to 280 (the runtime's 300 ms share of the shutdown phase, " +
        'less 20 ms for the last reports and the exit), got "5000"; using the default 250',
      'GRACEFUL_SHUTDOWN_SECRET_FILE: expected a file path, got " "; using the default /tmp/.graceful-shutdown.secret',
    ],
  );
  assert.deepEqual(
    problems.map((p) => p.variable),
    ['GRACEFUL_SHUTDOWN_PORT', 'GRACEFUL_SHUTDOWN_TIMEOUT_MS', 'GRACEFUL_SHUTDOWN_SECRET_FILE'],
  );
  const abc = configFromLookup(lookup({ GRACEFUL_SHUTDOWN_TIMEOUT_MS: 'abc' })).problems[0];
  assert.equal(abc.message, 'GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"; using the default 250');
  const far = configFromLookup(lookup({ GRACEFUL_SHUTDOWN_PORT: '70000' })).problems[0];
  assert.equal(far.message, 'GRACEFUL_SHUTDOWN_PORT: expected a port number from 1024 to 65535, got "70000"; using the default 4471');
});

test('every bad value is refused, as the Rust parsers refuse them', () => {
  for (const bad of ['', ' ', '-1', '0', '80', '1023', '65536', '4471.0', '0x1177', 'port', '1e4']) {
    assert.equal(configFromLookup(lookup({ GRACEFUL_SHUTDOWN_PORT: bad })).problems.length, 1, `port ${JSON.stringify(bad)}`);
  }
  for (const r of LIMITS.port.reserved) {
    const { problems } = configFromLookup(lookup({ GRACEFUL_SHUTDOWN_PORT: String(r.port) }));
    assert.match(problems[0].message, new RegExp(`not used by ${r.usedBy.replace(/[()]/g, '\\$&')}`));
  }
  for (const bad of ['', '0', '-5', '1.5', '281', '99999999999999999999', '250ms']) {
    assert.equal(configFromLookup(lookup({ GRACEFUL_SHUTDOWN_TIMEOUT_MS: bad })).problems.length, 1, `timeout ${JSON.stringify(bad)}`);
  }
  // Past u64, as in Rust, the value is not milliseconds at all.
  assert.match(
    configFromLookup(lookup({ GRACEFUL_SHUTDOWN_TIMEOUT_MS: '99999999999999999999' })).problems[0].message,
    /expected milliseconds, got/,
  );
});

test('fromEnv reads the environment once and logs each bad setting', () => {
  const log = recordingLogger();
  const env = { GRACEFUL_SHUTDOWN_TIMEOUT_MS: 'abc', GRACEFUL_SHUTDOWN_PORT: '20002' };
  const shutdown = GracefulShutdown.fromEnv({ logger: log }, env);
  env.GRACEFUL_SHUTDOWN_PORT = '20003';
  assert.equal(shutdown.config.port, 20002);
  assert.equal(shutdown.config.timeoutMs, 250);
  assert.deepEqual(log.lines, [
    ['warn', 'graceful-shutdown: GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"; using the default 250'],
  ]);
});

test('the main-thread logger writes JSON lines with AWS_LAMBDA_LOG_FORMAT=JSON, the console otherwise', async () => {
  const { mainThreadLogger, consoleLogger } = await import('../../dist/esm/log.js');
  assert.equal(mainThreadLogger({}), consoleLogger);
  assert.equal(mainThreadLogger({ AWS_LAMBDA_LOG_FORMAT: 'Text' }), consoleLogger);
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import { mainThreadLogger } from './dist/esm/log.js'; mainThreadLogger({ AWS_LAMBDA_LOG_FORMAT: 'JSON' }).warn('graceful-shutdown: x')"], {
    cwd: new URL('../..', import.meta.url),
  });
  const line = JSON.parse(out.toString());
  assert.equal(line.level, 'WARN');
  assert.equal(line.message, 'graceful-shutdown: x');
  assert.ok(!Number.isNaN(Date.parse(line.timestamp)));
});
