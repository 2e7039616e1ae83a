package dev.prospector.agent.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Mosquitto broker (Debian's {@code mosquitto}) on a free loopback port, started by the
 * test. When {@code CI=true} a missing binary fails the test; elsewhere the test is skipped with
 * the install hint.
 */
public final class Mosquitto implements AutoCloseable {
    private static final List<String> LOCATIONS = List.of(
            "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/local/bin/mosquitto");

    private final Path binary;
    private final Path dir;
    private final int port;
    private final String extraConfig;
    private Process process;

    private Mosquitto(Path binary, Path dir, int port, String extraConfig) {
        this.binary = binary;
        this.dir = dir;
        this.port = port;
        this.extraConfig = extraConfig;
    }

    /** Starts a broker with in-memory state on a free loopback port. */
    public static Mosquitto start(Path dir) {
        return start(dir, "");
    }

    /** Starts a broker; {@code extraConfig} lines are appended to its configuration. */
    public static Mosquitto start(Path dir, String extraConfig) {
        return startOn(dir, freePort(), extraConfig);
    }

    /** Starts a broker on {@code port} (tests of this class: a port another broker holds). */
    static Mosquitto startOn(Path dir, int port, String extraConfig) {
        Mosquitto m = new Mosquitto(requireBinary(), dir, port, extraConfig);
        m.startProcess();
        return m;
    }

    /**
     * Starts a broker whose listener is TLS 1.2 and requires a client certificate from
     * {@code certs}' CA, the certificate's CN becoming the user name; reach it at {@link #sslUrl()}.
     */
    public static Mosquitto startTls(Path dir, TestCertificates certs) {
        return start(dir, certs.mosquittoListenerConfig());
    }

    /** The binary, or a failed (CI) or skipped (elsewhere) test. */
    public static Path requireBinary() {
        Optional<Path> found =
                LOCATIONS.stream().map(Paths::get).filter(Files::isExecutable).findFirst();
        if (found.isEmpty()) {
            String path = System.getenv("PATH") == null ? "" : System.getenv("PATH");
            for (String d : path.split(":")) {
                Path p = Paths.get(d, "mosquitto");
                if (Files.isExecutable(p)) {
                    found = Optional.of(p);
                    break;
                }
            }
        }
        if (found.isEmpty()) {
            String message = "mosquitto is not installed: apt-get install -y mosquitto (.ci/run does this)";
            if ("true".equals(System.getenv("CI"))) {
                fail(message);
            }
            Assumptions.abort(message);
        }
        return found.get();
    }

    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    public String sslUrl() {
        return "ssl://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Stops the broker (SIGTERM), as an operator or a crash would. */
    public void stop() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Starts it again on the same port. */
    public void restart() {
        stop();
        startProcess();
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * Starts the process and waits until it says, in its own log, that it runs (it logs that after
     * it bound its listener), and its port answers. A connect alone is not enough: another broker
     * (another test's, on this machine shared by several builds) may hold the port, taken between
     * our pick of a free port and our bind, or while we were stopped for a restart; ours then exits
     * ("Address already in use") while the connect reaches the other one, and the test would talk
     * to a broker that is not its own, which stops or loses its queued messages at any time.
     */
    private void startProcess() {
        Path log = dir.resolve("mosquitto.log");
        long runningBefore = runningLines(log);
        try {
            Files.createDirectories(dir);
            Path conf = dir.resolve("mosquitto.conf");
            Files.writeString(
                    conf,
                    String.join(
                            "\n",
                            "listener " + port + " 127.0.0.1",
                            "allow_anonymous true",
                            "persistence true",
                            "persistence_location " + dir.toAbsolutePath() + "/",
                            "autosave_interval 1",
                            "max_queued_messages 100000",
                            "log_dest file " + dir.toAbsolutePath().resolve("mosquitto.log"),
                            // Started as root, mosquitto drops to user "mosquitto", which cannot write its
                            // persistence file here; stay as the user that runs the tests.
                            "user " + System.getProperty("user.name"),
                            extraConfig,
                            ""));
            process = new ProcessBuilder(binary.toString(), "-c", conf.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("mosquitto.out").toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start mosquitto", e);
        }
        Awaitility.await("mosquitto listening on " + port)
                .atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("mosquitto on port " + port + " exited: "
                                + Files.readString(dir.resolve("mosquitto.out")) + lastLines(log));
                    }
                    if (runningLines(log) <= runningBefore) {
                        return false;
                    }
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                        return true;
                    } catch (IOException e) {
                        return false;
                    }
                });
    }

    /** Lines of the broker's log saying it runs (one per start). */
    private static long runningLines(Path log) {
        try {
            if (!Files.exists(log)) {
                return 0;
            }
            try (var lines = Files.lines(log, java.nio.charset.StandardCharsets.ISO_8859_1)) {
                return lines.filter(l -> l.contains("mosquitto version") && l.endsWith(" running"))
                        .count();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last lines of the broker's log (its errors go there), or nothing. */
    private static String lastLines(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "";
        }
        List<String> lines = Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1);
        return " (log: " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size())) + ")";
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
