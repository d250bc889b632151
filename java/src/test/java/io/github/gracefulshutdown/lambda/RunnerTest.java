package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Running the handlers (through trigger(), as a signal would): order, isolation, budget, reports. */
class RunnerTest {
    static List<String> types(List<Report> reports) {
        return reports.stream().map(r -> r.toJson()).collect(Collectors.toList());
    }

    static Summary run(List<Runner.Handler> handlers, boolean concurrent, int budgetMs, List<Report> sink) {
        Reporter reporter = Reporter.calling(sink::add);
        Summary s = Runner.run(handlers, concurrent, budgetMs, System.nanoTime(), "trigger", reporter);
        assertTrue(reporter.flush(5_000, true));
        return s;
    }

    @Test
    void inOrderEachIsolatedWithTheReportsOfTheProtocol() {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        List<Report> sent = Collections.synchronizedList(new ArrayList<>());
        Summary s = run(List.of(
                new Runner.Handler("flush", () -> ran.add("flush")),
                new Runner.Handler("bad", () -> {
                    throw new IllegalStateException("disk full", new java.io.IOException("EIO"));
                }),
                new Runner.Handler("boom", () -> {
                    throw new Error("injected panic in boom");
                }),
                new Runner.Handler("close-pool", () -> ran.add("close-pool"))), false, 1000, sent);
        assertEquals(List.of("flush", "close-pool"), ran);
        assertEquals(2, s.completed());
        assertEquals(2, s.failed());
        assertEquals("IllegalStateException: disk full: IOException: EIO", s.handler("bad").error());
        assertEquals("panicked: Error: injected panic in boom", s.handler("boom").error());
        List<String> json = types(sent);
        assertEquals("{\"type\":\"shutdownStarted\",\"signal\":\"trigger\"}", json.get(0));
        assertEquals("{\"type\":\"started\",\"handler\":\"flush\",\"index\":0}", json.get(1));
        assertTrue(json.get(2).startsWith("{\"type\":\"finished\",\"handler\":\"flush\",\"index\":0,\"durationMs\":"));
        assertTrue(json.get(4).startsWith("{\"type\":\"failed\",\"handler\":\"bad\",\"index\":1,\"durationMs\":"));
        assertTrue(json.get(4).endsWith(",\"error\":\"IllegalStateException: disk full: IOException: EIO\"}"));
        assertTrue(json.get(6).endsWith(",\"error\":\"panicked: Error: injected panic in boom\"}"));
        assertTrue(json.get(json.size() - 1).startsWith(
                "{\"type\":\"allDone\",\"completed\":2,\"failed\":2,\"timedOut\":0,\"totalMs\":"));
        assertEquals(10, json.size(), json.toString());
    }

    @Test
    void aHangIsAbandonedAtTheBudgetAndTheRestNeverStart() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        List<Report> sent = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        Summary s = run(List.of(
                new Runner.Handler("hang", never::await),
                new Runner.Handler("after", () -> { })), false, 150, sent);
        double ms = Runner.millis(System.nanoTime() - t0);
        assertEquals(HandlerOutcome.Status.TIMED_OUT, s.handler("hang").status());
        assertEquals(HandlerOutcome.Status.SKIPPED, s.handler("after").status());
        assertTrue(ms >= 150 && ms < 5000, ms + " ms");
        List<String> json = types(sent);
        assertTrue(json.stream().anyMatch(j -> j.startsWith("{\"type\":\"timedOut\",\"handler\":\"hang\",\"index\":0")));
        assertTrue(json.stream().noneMatch(j -> j.contains("\"after\"")), json.toString());
    }

    @Test
    void concurrentlyAllStartAtOnceAndOverrunnersTimeOut() throws Exception {
        CountDownLatch bothStarted = new CountDownLatch(2);
        ShutdownHandler meet = () -> {
            bothStarted.countDown();
            if (!bothStarted.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the other handler never started");
            }
        };
        CountDownLatch never = new CountDownLatch(1);
        Summary s = run(List.of(new Runner.Handler("a", meet), new Runner.Handler("b", meet),
                new Runner.Handler("slow", never::await)), true, 2000, new ArrayList<>());
        assertEquals(HandlerOutcome.Status.COMPLETED, s.handler("a").status());
        assertEquals(HandlerOutcome.Status.COMPLETED, s.handler("b").status());
        assertEquals(HandlerOutcome.Status.TIMED_OUT, s.handler("slow").status());
    }

    @Test
    void triggerRunsOnceAndReturnsTheSameSummary(@TempDir Path tmp) throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        GracefulShutdown g = GracefulShutdown.withConfig(new Config(4471, 100, tmp.resolve("none").toString()))
                .onShutdown("flush", () -> ran.add("flush"));
        Summary first = g.trigger();
        assertSame(first, g.trigger());
        assertEquals(List.of("flush"), ran);
        assertEquals("trigger", first.signal());
        assertTrue(first.allCompleted());
        assertThrows(IllegalStateException.class, () -> g.onShutdown("late", () -> { }));
        assertThrows(IllegalArgumentException.class,
                () -> GracefulShutdown.withConfig(new Config()).onShutdown("", () -> { }));
    }

    @Test
    void withTheSecretFileTheHelloGoesToTheExtension(@TempDir Path tmp) throws Exception {
        Path secret = tmp.resolve("secret");
        Files.writeString(secret, "ab".repeat(32) + "\n");
        String[] why = new String[1];
        assertEquals("ab".repeat(32), Attach.readSecret(secret.toString(), why));
        Files.writeString(secret, "two words\n");
        assertEquals(null, Attach.readSecret(secret.toString(), why));
        assertTrue(why[0].contains("does not hold a secret"), why[0]);
        assertEquals(null, Attach.readSecret(tmp.resolve("missing").toString(), why));
        assertTrue(why[0].endsWith("does not exist"), why[0]);
    }
}
