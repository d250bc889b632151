package io.github.gracefulshutdown.lambda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * The cold-start check: is the shutdown extension attached?
 *
 * <p>The extension writes the per-environment secret file before it registers,
 * and Lambda starts extensions before the runtime, so at cold start the file is
 * there exactly when the extension is. The check is one small file read.
 */
final class Attach {
    private Attach() {}

    /** Longest secret accepted; the extension writes 64 hex characters. */
    static final int MAX_SECRET_CHARS = 512;

    /** The secret, or null with {@code why[0]} saying why the extension looks absent. */
    static String readSecret(String path, String[] why) {
        byte[] raw;
        try {
            Path p = Paths.get(path);
            try (InputStream in = Files.newInputStream(p)) {
                raw = in.readNBytes(MAX_SECRET_CHARS + 2);
            }
        } catch (NoSuchFileException e) {
            why[0] = path + " does not exist";
            return null;
        } catch (IOException | RuntimeException e) {
            why[0] = path + " cannot be read: " + e.getMessage();
            return null;
        }
        int start = 0;
        int end = raw.length;
        while (start < end && Character.isWhitespace(raw[start])) {
            start++;
        }
        while (end > start && Character.isWhitespace(raw[end - 1])) {
            end--;
        }
        boolean printable = end > start && end - start <= MAX_SECRET_CHARS;
        for (int i = start; printable && i < end; i++) {
            printable = raw[i] >= 0x21 && raw[i] <= 0x7E;
        }
        // The secret goes into a header line: refuse anything that could break it.
        if (!printable) {
            why[0] = path + " does not hold a secret (expected one line of printable text)";
            return null;
        }
        return new String(raw, start, end - start, java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** The warning for a missing extension, naming the handlers that will not run. */
    static String missingWarning(String reason, List<String> handlerNames) {
        String handlers = handlerNames.isEmpty() ? "(none registered yet)" : String.join(", ", handlerNames);
        String name = Limits.EXTENSION_NAME;
        String env = Limits.ENV_SECRET_FILE;
        return "graceful-shutdown: the " + name + " extension is not attached (" + env + ": " + reason + "). "
                + "Without a registered extension Lambda sends no SIGTERM: it kills the function without warning, "
                + "so these shutdown handlers will NOT run when the environment is retired: " + handlers + ". "
                + "Fix: attach the " + name + " layer to this function (the CDK construct library does it for you; "
                + "without the CDK, `gracefulctl render` prints the SAM, CloudFormation and Terraform snippets), "
                + "and keep " + env + " the same for the function and the extension. "
                + "The handlers still run on SIGTERM or SIGINT, for example in local runs; nothing is reported.";
    }

    private static boolean warned;

    /** Logs the missing-extension warning once per process; whether it was logged now. */
    static synchronized boolean warnMissingOnce(String reason, List<String> handlerNames) {
        if (warned) {
            return false;
        }
        warned = true;
        Log.warn(missingWarning(reason, handlerNames));
        return true;
    }
}
