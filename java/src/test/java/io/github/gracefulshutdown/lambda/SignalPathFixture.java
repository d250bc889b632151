package io.github.gracefulshutdown.lambda;

/**
 * The child JVM of {@link SignalPathTest}: installs the library with two
 * handlers (in order, or concurrently with {@code concurrent} as its argument),
 * waits until the cold start's work is over (the hello answered, the shell that
 * ends the process running), prints {@code READY}, and waits for the signal.
 * Each handler prints {@code HANDLER <name>} first.
 */
public final class SignalPathFixture {
    private SignalPathFixture() {}

    static final class Marker implements ShutdownHandler {
        private final String name;

        Marker(String name) {
            this.name = name;
        }

        @Override
        public void run() {
            System.out.println("HANDLER " + name);
            System.out.flush();
        }
    }

    public static void main(String[] args) throws Exception {
        boolean concurrent = args.length > 0 && args[0].equals("concurrent");
        GracefulShutdown gs = GracefulShutdown.fromEnv()
                .onShutdown("first", new Marker("first"))
                .onShutdown("second", new Marker("second"))
                .concurrent(concurrent)
                .install();
        if (!gs.extensionAttached() || !gs.awaitReports(20_000)) {
            System.out.println("FIXTURE the hello was not answered");
            System.exit(3);
        }
        long until = System.nanoTime() + 20_000_000_000L;
        while (!Signals.killerStarted()) {
            if (System.nanoTime() - until > 0) {
                System.out.println("FIXTURE the shell was not started");
                System.exit(3);
            }
            Thread.sleep(10);
        }
        System.out.println("READY");
        System.out.flush();
        while (true) {
            Thread.sleep(60_000);
        }
    }
}
