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
