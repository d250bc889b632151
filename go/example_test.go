package gracefulshutdown_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	gracefulshutdown "github.com/graceful-shutdown/graceful-shutdown-lambda/go"
)

// In a function: register the handlers, then Install() before lambda.Start.
// Here Build() and Trigger() run them as a SIGTERM would, without exiting.
func Example() {
	var mu sync.Mutex
	buffer := []string{"a", "b"}

	config := gracefulshutdown.DefaultConfig()
	config.Timeout = 200 * time.Millisecond
	config.SecretFile = "/nonexistent/graceful-shutdown.secret" // no extension: nothing reported

	shutdown := gracefulshutdown.New(config).
		OnShutdown("flush", func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			buffer = buffer[:0] // write it somewhere durable, within ctx's deadline
			return nil
		}).
		OnShutdown("close-pool", func(ctx context.Context) error { return fmt.Errorf("pool already closed") }).
		Build()

	summary := shutdown.Trigger()
	flush, _ := summary.Handler("flush")
	pool, _ := summary.Handler("close-pool")
	fmt.Println(flush.Status, pool.Status, pool.Error, len(buffer))
	// Output: completed failed pool already closed 0
}
