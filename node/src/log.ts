/**
 * Where the library's log lines go. By default the console, which the Lambda
 * Node.js runtime client formats (request id, level, `AWS_LAMBDA_LOG_FORMAT`
 * JSON or Text, `AWS_LAMBDA_LOG_LEVEL`); its writes to the log pipe are
 * synchronous, so a line logged before the process ends is not lost.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

/**
 * For the main thread on Lambda Managed Instances, where the client formats
 * the console of its worker threads only: one JSON object per line with
 * `AWS_LAMBDA_LOG_FORMAT=JSON`, as the client writes them, else the console.
 */
export function mainThreadLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  if (env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() !== 'JSON') return consoleLogger;
  const line = (level: string, message: string) =>
    process.stdout.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, requestId: '-', message })}\n`);
  return {
    info: (m) => line('INFO', m),
    warn: (m) => line('WARN', m),
    error: (m) => line('ERROR', m),
  };
}
