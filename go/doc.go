// Package gracefulshutdown runs a Go Lambda function's shutdown handlers when
// Lambda retires its execution environment, and reports what they did to the
// graceful-shutdown extension, which logs one verdict.
//
// Lambda sends SIGTERM to the runtime process only when an extension is
// registered, and SIGKILLs it about 300 ms later. With the graceful-shutdown
// layer attached, Install makes the first SIGTERM (or SIGINT) run the handlers
// once, in registration order or concurrently, each isolated (an error or a
// panic fails that handler only), within the budget GRACEFUL_SHUTDOWN_TIMEOUT_MS;
// then the process exits with status 0 by itself, before the SIGKILL.
//
//	func main() {
//		gracefulshutdown.FromEnv().
//			OnShutdown("flush", func(ctx context.Context) error { return buffer.Flush(ctx) }).
//			Install()
//		lambda.Start(handle)
//	}
//
// The package uses the standard library only. The report protocol it speaks
// is the repository's docs/protocol.md; its names, defaults and limits come
// from spec/limits.json, embedded.
package gracefulshutdown
