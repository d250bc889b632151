package io.github.gracefulshutdown.lambda;

/**
 * A shutdown handler: work to do once when Lambda retires the environment,
 * such as {@code pool::close} or {@code writer::flush}. It may throw: an
 * exception (or an {@link Error}) fails this handler only, and is reported.
 */
@FunctionalInterface
public interface ShutdownHandler {
    void run() throws Exception;
}
