package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Delivery: in order, written by the time sendNow returns, the hello sent again until taken. */
class ReporterTest {
    /** A link that records what it was given and answers as told. */
    static final class Recording implements Reporter.Link {
        final List<String> opened = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger helloRefusals;
        final AtomicInteger connectFailures;

        Recording(int helloRefusals, int connectFailures) {
            this.helloRefusals = new AtomicInteger(helloRefusals);
            this.connectFailures = new AtomicInteger(connectFailures);
        }

        @Override
        public Socket open(Report report, int timeoutMs) throws IOException {
            if (connectFailures.getAndDecrement() > 0) {
                throw new IOException("connect timed out");
            }
            opened.add(report.type + "@" + Thread.currentThread().getName());
            return null;
        }

        @Override
        public boolean answer(Report report, Socket socket) {
            return !"hello".equals(report.type) || helloRefusals.getAndDecrement() <= 0;
        }
    }

    static List<String> types(Recording link) {
        // The sending thread appends while the test reads: iterate over a copy
        // taken under the list's own lock (a synchronized list's iterator is not).
        List<String> opened;
        synchronized (link.opened) {
            opened = new ArrayList<>(link.opened);
        }
        List<String> out = new ArrayList<>();
        for (String o : opened) {
            out.add(o.substring(0, o.indexOf('@')));
        }
        return out;
    }

    @Test
    void aHelloNotTakenIsSentAgainUntilTakenAndNoOtherReportIs() {
        Recording link = new Recording(2, 0);
        Reporter r = Reporter.to(link);
        r.send(Report.hello(1, List.of("flush"), 250, false, 0));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (types(link).size() < 3 && System.nanoTime() < deadline) {
            assertTrue(r.flush(1000, true));
        }
        assertEquals(List.of("hello", "hello", "hello"), types(link));
        r.sendNow(Report.started("flush", 0), 1000);
        assertTrue(r.flush(5000, true));
        assertEquals(List.of("hello", "hello", "hello", "started"), types(link));
    }

    @Test
    void aHelloIsGivenUpAfterItsAttempts() {
        Recording link = new Recording(100, 0);
        Reporter r = Reporter.to(link);
        r.send(Report.hello(1, List.of("flush"), 250, false, 0));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (types(link).size() < Reporter.HELLO_ATTEMPTS && System.nanoTime() < deadline) {
            assertTrue(r.flush(1000, true));
        }
        assertTrue(r.flush(1000, true));
        assertEquals(Collections.nCopies(Reporter.HELLO_ATTEMPTS, "hello"), types(link));
    }

    @Test
    void aFailedConnectOfTheHelloIsTriedAgainAndSendNowReturnsOnceWritten() {
        Recording link = new Recording(0, 1);
        Reporter r = Reporter.to(link);
        r.send(Report.hello(1, List.of("flush"), 250, false, 0));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (types(link).isEmpty() && System.nanoTime() < deadline) {
            r.flush(1000, true);
        }
        assertEquals(List.of("hello"), types(link));
        // Written by the time sendNow returns (by this thread, or by the sending
        // thread that took the ordering lock first).
        assertTrue(r.sendNow(Report.shutdownStarted("SIGTERM"), 1000));
        assertEquals(List.of("hello", "shutdownStarted"), types(link));
    }

    @Test
    void aReportWhoseConnectFailsIsTriedAgainBeforeAnyLaterOne() {
        Recording link = new Recording(0, Reporter.OPEN_ATTEMPTS - 1);
        Reporter r = Reporter.to(link);
        r.send(Report.timedOut("close-pool", 2, 150));
        r.send(Report.allDone(1, 1, 1, 160));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (types(link).size() < 2 && System.nanoTime() < deadline) {
            r.flush(1000, true);
        }
        assertEquals(List.of("timedOut", "allDone"), types(link));
    }
}
