package io.github.gracefulshutdown.lambda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared cases that need no emulator-only setting, under AWS's Runtime
 * Interface Emulator with the real shutdown layer and the real Java client, on
 * Java 17 and 25, run by the driver ({@code --backend rie}; it reads neither the
 * reason, which the RIE names SandboxTerminated, nor the lifecycle keys there).
 * It needs root and {@code unshare}; without them the tests are skipped, saying
 * why, except with {@code -De2e.required=true} or CI=true, where they fail.
 */
class RieCasesTest {
    static Stream<Arguments> cases() throws Exception {
        List<Arguments> out = new ArrayList<>();
        for (String runtime : E2e.RUNTIMES_UNDER_TEST) {
            for (String name : Conformance.caseNames("rie")) {
                out.add(Arguments.of(name, runtime));
            }
        }
        return out.stream();
    }

    static String cannotRun() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root (a private mount namespace for /opt/extensions)";
        }
        if (Stream.of("/usr/bin/unshare", "/bin/unshare").noneMatch(p -> Files.isExecutable(Paths.get(p)))) {
            return "unshare (util-linux) is not installed";
        }
        return null;
    }

    @ParameterizedTest(name = "{0} under the RIE on {1}")
    @MethodSource("cases")
    void caseUnderTheRie(String name, String runtime) throws Exception {
        String why = cannotRun();
        if (why != null && E2e.REQUIRED) {
            throw new AssertionError("the RIE cases cannot run: " + why);
        }
        Assumptions.assumeTrue(why == null, () -> "the RIE cases cannot run: " + why);
        // A scratch directory every user can traverse: the RIE's processes reach into it.
        Path tmp = Files.createTempDirectory("graceful-shutdown-rie-java-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        try {
            Conformance.runCase(name, "rie", runtime, tmp, List.of("--rie", Conformance.rie().toString()));
        } finally {
            E2e.deleteTree(tmp);
        }
    }
}
