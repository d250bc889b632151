// The hand-written pattern: a JVM shutdown hook, which the JVM runs on
// SIGTERM, doing 200 ms of work. No dependency: the runtime client calls
// handleRequest(InputStream, OutputStream) by reflection.
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

public class Handwritten {
    private static final Path OUTPUT = Paths.get(System.getenv("PROBE_OUTPUT"));

    static void line(String text) {
        try {
            Files.write(OUTPUT, (text + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        } catch (IOException e) {
            System.err.println("handwritten: cannot write: " + e);
        }
    }

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            line("start work");
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            line("work");
        }));
    }

    public void handleRequest(InputStream in, OutputStream out) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        in.transferTo(buf);
        out.write(buf.toByteArray());
    }
}
