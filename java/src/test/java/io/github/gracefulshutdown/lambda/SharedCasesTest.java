package io.github.gracefulshutdown.lambda;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared shutdown cases (tests/cases/shutdown.json), run by the driver
 * ({@link Conformance}) with the real shutdown layer and the real Java runtime
 * interface client in the lifecycle emulator, on Java 17 and 25. Each run also
 * prints its figures (SIGTERM to the handlers' start, SIGTERM to the process gone).
 */
class SharedCasesTest {
    static Stream<Arguments> cases() throws Exception {
        List<Arguments> out = new ArrayList<>();
        for (String runtime : E2e.RUNTIMES_UNDER_TEST) {
            for (String name : Conformance.caseNames("emulator")) {
                out.add(Arguments.of(name, runtime));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void sharedCase(String name, String runtime, @TempDir Path tmp) throws Exception {
        Conformance.Answer a = Conformance.runCase(name, "emulator", runtime, tmp, List.of());
        String figures = a.figures();
        if (figures != null) {
            System.out.println("figures: " + name + " on " + runtime + ": " + figures);
        }
    }
}
