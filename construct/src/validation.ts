// Checks of the graceful shutdown settings. Each error names the property and
// says how to fix it. Pure functions: they take plain values and return the
// checked value or throw, so tests call them directly as well as through the
// constructs.
import { Duration, Token } from 'aws-cdk-lib';
import { ShutdownLimits } from './limits';

function reservedList(): string {
  return ShutdownLimits.reservedPorts().map((r) => r.port).join(', ');
}

/** The port to use, or an error naming `port` and the allowed values. */
export function checkPort(port: number | undefined): number {
  if (port === undefined) return ShutdownLimits.DEFAULT_PORT;
  if (Token.isUnresolved(port)) {
    throw new Error('`port` must be a plain number known at synth time, not a token: set `port` to a number '
      + `from ${ShutdownLimits.MIN_PORT} to ${ShutdownLimits.MAX_PORT} (default ${ShutdownLimits.DEFAULT_PORT}).`);
  }
  if (!Number.isInteger(port) || port < ShutdownLimits.MIN_PORT || port > ShutdownLimits.MAX_PORT) {
    throw new Error(`\`port\` is ${port}, which is not a port number from ${ShutdownLimits.MIN_PORT} to ${ShutdownLimits.MAX_PORT}: `
      + `set \`port\` to a whole number in that range, or leave it unset for the default ${ShutdownLimits.DEFAULT_PORT}.`);
  }
  const usedBy = ShutdownLimits.reservedBy(port);
  if (usedBy !== undefined) {
    throw new Error(`\`port\` is ${port}, which is used by ${usedBy}: set \`port\` to another port `
      + `(not ${reservedList()}), or leave it unset for the default ${ShutdownLimits.DEFAULT_PORT}.`);
  }
  return port;
}

/** The handlers' budget in whole milliseconds, or an error naming `timeout` and the allowed range. */
export function checkTimeout(timeout: Duration | undefined): number {
  if (timeout === undefined) return ShutdownLimits.DEFAULT_TIMEOUT_MS;
  const range = `from Duration.millis(${ShutdownLimits.MIN_TIMEOUT_MS}) to Duration.millis(${ShutdownLimits.MAX_TIMEOUT_MS})`;
  if (timeout.isUnresolved()) {
    throw new Error(`\`timeout\` must be known at synth time, not a token: set \`timeout\` ${range} (default ${ShutdownLimits.DEFAULT_TIMEOUT_MS} ms).`);
  }
  const ms = timeout.toMilliseconds({ integral: false });
  if (!Number.isInteger(ms)) {
    throw new Error(`\`timeout\` is ${ms} ms, which is not a whole number of milliseconds: set \`timeout\` ${range}.`);
  }
  if (ms < ShutdownLimits.MIN_TIMEOUT_MS) {
    throw new Error(`\`timeout\` is ${ms} ms, but it must be positive: set \`timeout\` ${range}, `
      + `or leave it unset for the default ${ShutdownLimits.DEFAULT_TIMEOUT_MS} ms.`);
  }
  if (ms > ShutdownLimits.MAX_TIMEOUT_MS) {
    throw new Error(`\`timeout\` is ${ms} ms, beyond ${ShutdownLimits.MAX_TIMEOUT_MS} ms: the runtime's ${ShutdownLimits.RUNTIME_SHARE_MS} ms share `
      + `of the shutdown phase less ${ShutdownLimits.RUNTIME_EXIT_RESERVE_MS} ms for the last reports and the exit `
      + '(Lambda kills the runtime after its share, so the handlers would be cut off): '
      + `set \`timeout\` ${range}, or leave it unset for the default ${ShutdownLimits.DEFAULT_TIMEOUT_MS} ms.`);
  }
  return ms;
}

/** A count of extensions the function already runs, or an error naming the property. */
export function checkExtensionCount(count: number | undefined, fallback: number): number {
  if (count === undefined) return fallback;
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`\`extensionsInOtherLayers\` is ${count}, which is not a count: set it to the number of external extensions `
      + 'the function already runs from its other layers (0 or more), or leave it unset to count one per layer.');
  }
  return count;
}
