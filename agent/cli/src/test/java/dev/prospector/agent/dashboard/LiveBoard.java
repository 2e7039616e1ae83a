package dev.prospector.agent.dashboard;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A board as a hobbyist runs it, for the dashboard's tests: real Mosquitto on loopback, a
 * {@code prospector verifier} (emulated boards allowed, audits every few seconds) and a
 * {@code prospector run} on the emulated board with its dashboard on a free loopback port, each a
 * child JVM.
 */
final class LiveBoard implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String FLEET = "dash";

    final Mosquitto broker;
    final ProspectorProcess verifier;
    final ProspectorProcess agent;
    final Path dataDir;
    final int port;
    final String device;

    private LiveBoard(Mosquitto broker, ProspectorProcess verifier, ProspectorProcess agent, Path dataDir, int port)
            throws IOException {
        this.broker = broker;
        this.verifier = verifier;
        this.agent = agent;
        this.dataDir = dataDir;
        this.port = port;
        this.device = DeviceId.of(DeviceKeys.readPublicKey(dataDir.resolve(DeviceKeys.PUBLIC_KEY_FILE)))
                .value();
    }

    /** Starts the three and waits until the dashboard answers; {@code extra} are more `run` arguments. */
    static LiveBoard start(Path dir, String... extra) throws Exception {
        Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
        Path logs = dir.resolve("logs");
        Path state = dir.resolve("verifier");
        ProspectorProcess v = ProspectorProcess.start(
                logs,
                "verifier",
                "verifier",
                "--broker",
                broker.url(),
                "--fleet",
                FLEET,
                "--allow-emulated",
                "--state-dir",
                state.toString(),
                "--audit-every",
                "3s",
                "--audit-deadline",
                "10s");
        v.awaitLogged("connected to", WAIT);
        int port = freePort();
        Path data = dir.resolve("board");
        List<String> args = new ArrayList<>(List.of(
                "run",
                "--broker",
                broker.url(),
                "--fleet",
                FLEET,
                "--board",
                "emulated",
                "--data-dir",
                data.toString(),
                "--interval",
                "1s",
                "--plot-size",
                "256K",
                "--verifier-key",
                state.resolve("receipt-key").resolve(DeviceKeys.PUBLIC_KEY_FILE).toString(),
                "--dashboard-port",
                Integer.toString(port)));
        args.addAll(List.of(extra));
        ProspectorProcess a = ProspectorProcess.start(logs, "agent", args.toArray(String[]::new));
        await("dashboard up").atMost(WAIT).until(() -> a.stderr().contains("dashboard at ") || !a.isAlive());
        assertTrue(a.isAlive(), a::stderr);
        return new LiveBoard(broker, v, a, data, port);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create(url(path))).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        agent.close();
        verifier.close();
        broker.close();
    }
}
