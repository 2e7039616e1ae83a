package dev.prospector.agent.update;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.prospector.agent.cli.ProspectorCommand;
import dev.prospector.agent.fleet.CommandService;
import dev.prospector.agent.fleet.FleetSettings;
import dev.prospector.agent.fleet.Role;
import dev.prospector.agent.fleet.TrustedOperators;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.attest.OperatorKey;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prospector fleet update} against several emulated boards in this process, on a real
 * Mosquitto, some of which cannot install the release (their versions folder is a file): the
 * rollout stops once the failure rate passes {@code --abort-after}, the boards not yet reached are
 * not sent to and keep their version, and the exit code says that not every target succeeded.
 * A board's restart is emulated by closing its node and wiring a new one on the same data dir,
 * running the slot {@code versions/current} names, as the launcher would.
 */
class StagedRolloutIT {
    private static final String FLEET = "roll";

    @TempDir
    Path dir;

    private final List<Board> boards = new ArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    private final class Board {
        final Path data;
        final BrokerUrl url;
        final Path adminPub;
        volatile AgentNode node;
        volatile CommandService service;

        Board(Path data, BrokerUrl url, Path adminPub) {
            this.data = data;
            this.url = url;
            this.adminPub = adminPub;
        }

        synchronized void start() {
            var settings = AgentWiring.RunSettings.emulated(url, FLEET, data, Duration.ofMillis(500));
            node = AgentWiring.agent(settings, Clock.systemUTC());
            Changes changes = new Changes(data, new VersionSlots(data).current(), Clock.systemUTC(), this::restart);
            service = AgentWiring.commands(
                    node,
                    new FleetSettings(
                            List.of(new TrustedOperators.Spec(adminPub, Role.ADMIN)), List.of(), Duration.ofMinutes(2)),
                    data,
                    Clock.systemUTC(),
                    why -> {},
                    List.of(new UpdateHandler(changes, new ArtifactFetcher(Duration.ofSeconds(20)))));
            changes.resume(service.sink(), AgentWiring.health(node), timer);
            node.start();
        }

        /** What systemd and the launcher do: the process ends, a new one starts on versions/current. */
        void restart() {
            new Thread(() -> {
                        synchronized (this) {
                            close();
                            start();
                        }
                    })
                    .start();
        }

        synchronized void close() {
            if (service != null) {
                service.close();
            }
            if (node != null) {
                node.close();
            }
        }
    }

    @AfterEach
    void stop() {
        boards.forEach(Board::close);
        timer.shutdownNow();
    }

    @Test
    void aRolloutStopsWhenTooManyBoardsFailAndLeavesTheRestAlone() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            // A small valid release: the launcher is not involved here, only the boards' handlers.
            byte[] release =
                    Files.readAllBytes(Tars.write(dir.resolve("release.tar.gz"), Map.of("prospector.jar", Tars.JAR)));
            HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            http.createContext("/r.tar.gz", x -> {
                x.sendResponseHeaders(200, release.length);
                x.getResponseBody().write(release);
                x.close();
            });
            http.start();
            try {
                OperatorKey admin = OperatorKey.generate();
                admin.write(dir.resolve("admin"));
                BrokerUrl url = BrokerUrl.parse(broker.url());
                int n = 8;
                for (int i = 0; i < n; i++) {
                    Path data = dir.resolve("board-" + i);
                    Files.createDirectories(data);
                    if (i % 2 == 1) {
                        Files.writeString(data.resolve(VersionSlots.DIR), "not a folder"); // cannot install
                    }
                    Board b = new Board(data, url, dir.resolve("admin").resolve(OperatorKey.PUBLIC_KEY_FILE));
                    b.start();
                    boards.add(b);
                }
                await().atMost(Duration.ofSeconds(60))
                        .until(() ->
                                boards.stream().allMatch(b -> b.node.stats().connected()));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                String[] args = {
                    "fleet",
                    "update",
                    "--all",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    FLEET,
                    "--signing-key",
                    dir.resolve("admin").toString(),
                    "--artifact",
                    dir.resolve("release.tar.gz").toString(),
                    "--version",
                    "3.0.0",
                    "--url",
                    "http://127.0.0.1:" + http.getAddress().getPort() + "/r.tar.gz",
                    "--rate",
                    "60/min",
                    "--abort-after",
                    "20%",
                    "--abort-min",
                    "2",
                    "--timeout",
                    "60s",
                    "--health-timeout",
                    "30s",
                    "--json"
                };
                int code = ProspectorCommand.execute(
                        args,
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
                String json = out.toString(StandardCharsets.UTF_8);
                System.out.println("fleet update of 8 boards, 4 of which cannot install, abort after 20% of >= 2: exit "
                        + code + "\n" + json + err.toString(StandardCharsets.UTF_8));
                assertEquals(1, code, "not every target succeeded");
                assertTrue(json.contains("\"aborted\":true"), json);
                assertTrue(json.contains("not-sent"), json);
                int notSent = 0;
                for (Board b : boards) {
                    if (json.contains("\"device\":\"" + b.node.device() + "\",\"status\":\"not-sent\"")) {
                        notSent++;
                        assertTrue(
                                Files.isRegularFile(b.data.resolve(VersionSlots.DIR))
                                        || new VersionSlots(b.data).current().isEmpty(),
                                "a board not sent to keeps its version");
                    }
                }
                assertTrue(notSent >= 1, "the rollout stopped before the last board");
                for (Board b : boards) {
                    Optional<String> v = Files.isRegularFile(b.data.resolve(VersionSlots.DIR))
                            ? Optional.of("(cannot install)")
                            : new VersionSlots(b.data).current();
                    System.out.println("  " + b.node.device() + " runs " + v.orElse("the packaged program"));
                }
            } finally {
                http.stop(0);
            }
        }
    }
}
