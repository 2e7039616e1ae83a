package dev.prospector.agent.update;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.prospector.agent.fleet.CommandOutcome;
import dev.prospector.agent.fleet.Role;
import dev.prospector.agent.fleet.SignedCommand;
import dev.prospector.attest.Sha256;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HandlersTest {
    @TempDir
    Path data;

    private final AtomicInteger restarts = new AtomicInteger();
    private final Map<String, CommandOutcome> results = new ConcurrentHashMap<>();
    private HttpServer server;
    private volatile byte[] served;
    private Changes changes;

    @BeforeEach
    void setUp() throws Exception {
        changes = new Changes(data, Optional.empty(), Clock.systemUTC(), restarts::incrementAndGet);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v.tar.gz", x -> {
            x.sendResponseHeaders(200, served.length);
            x.getResponseBody().write(served);
            x.close();
        });
        server.start();
    }

    @AfterEach
    void tearDown() {
        server.stop(0);
    }

    private static SignedCommand command(String id, String name, Map<String, Object> args) {
        Instant now = Instant.now();
        return new SignedCommand(id, name, args, now, now.plusSeconds(60), Role.ADMIN, "all", "k");
    }

    @Test
    void anInvalidConfigurationIsRefusedAndNothingChanges() throws Exception {
        var h = new SetConfigHandler(
                changes, text -> text.contains("bogus") ? List.of("unknown setting bogus") : List.of());
        CommandOutcome o = h.handle(command("c1", "set-config", Map.of("config", "bogus = 1\n")), results::put);
        System.out.println("pushed `bogus = 1`: " + o.status() + " " + o.reason());
        assertEquals(CommandOutcome.Status.REFUSED, o.status());
        assertTrue(o.reason().contains("unknown setting bogus"));
        assertTrue(ConfigStore.layer(data).isEmpty());
        assertEquals(Optional.empty(), changes.config().trial());
        assertEquals(0, restarts.get());
    }

    @Test
    void aValidConfigurationIsStagedOnTrialAndTheAgentRestarts() throws Exception {
        var h = new SetConfigHandler(changes, text -> List.of());
        CommandOutcome o = h.handle(
                command("c2", "set-config", Map.of("config", "interval = 5s\n", "timeout", 30L)), results::put);
        assertEquals(CommandOutcome.Status.PENDING, o.status());
        assertEquals("interval = 5s\n", ConfigStore.layer(data).orElseThrow().text());
        assertEquals("c2", changes.config().trial().orElseThrow().commandId());
        Awaitility.await().untilAtomic(restarts, org.hamcrest.Matchers.equalTo(1));
        CommandOutcome again = h.handle(command("c3", "set-config", Map.of("config", "interval = 6s\n")), results::put);
        assertEquals(CommandOutcome.Status.REFUSED, again.status(), "one change at a time");
    }

    private Map<String, Object> updateArgs(byte[] artifact, byte[] signedHash) {
        return Map.of(
                "version",
                "9.9.9",
                "url",
                "http://127.0.0.1:" + server.getAddress().getPort() + "/v.tar.gz",
                "sha256",
                HexFormat.of().formatHex(signedHash),
                "size",
                (long) artifact.length,
                "timeout",
                60L);
    }

    @Test
    void aCorruptedDownloadIsAnsweredFailedAndNothingIsInstalled() throws Exception {
        byte[] good = Files.readAllBytes(Tars.write(data.resolve("a.tgz"), Tars.jarSet()));
        byte[] bad = good.clone();
        bad[bad.length / 2] ^= 1;
        served = bad;
        var h = new UpdateHandler(changes, new ArtifactFetcher(Duration.ofSeconds(10)));
        CommandOutcome o = h.handle(command("u1", "update", updateArgs(good, Sha256.of(good))), results::put);
        assertEquals(CommandOutcome.Status.PENDING, o.status());
        Awaitility.await().until(() -> results.containsKey("u1"));
        System.out.println("served a corrupted artifact: " + results.get("u1").reason());
        assertEquals(CommandOutcome.Status.FAILED, results.get("u1").status());
        assertTrue(results.get("u1").reason().contains("SHA-256"));
        assertEquals(List.of(), changes.versions().installed());
        assertEquals(Optional.empty(), changes.versions().current());
        assertEquals(0, restarts.get());
    }

    @Test
    void aGoodArtifactIsInstalledOnTrialAndTheAgentRestarts() throws Exception {
        byte[] good = Files.readAllBytes(Tars.write(data.resolve("a.tgz"), Tars.jarSet()));
        served = good;
        var h = new UpdateHandler(changes, new ArtifactFetcher(Duration.ofSeconds(10)));
        CommandOutcome o = h.handle(command("u2", "update", updateArgs(good, Sha256.of(good))), results::put);
        assertEquals(CommandOutcome.Status.PENDING, o.status());
        Awaitility.await().untilAtomic(restarts, org.hamcrest.Matchers.equalTo(1));
        assertEquals(Optional.of("9.9.9"), changes.versions().current());
        assertEquals("u2", changes.versions().trial().orElseThrow().commandId());
        assertTrue(results.isEmpty(), "the final result comes from the next start");
    }

    @Test
    void badArgumentsAreRefusedWithTheirReason() throws Exception {
        var h = new UpdateHandler(changes, new ArtifactFetcher(Duration.ofSeconds(10)));
        for (var args : List.<Map<String, Object>>of(
                Map.of("version", "../x", "url", "http://h/a", "sha256", "00".repeat(32), "size", 1L),
                Map.of("version", "1", "url", "file:///etc/passwd", "sha256", "00".repeat(32), "size", 1L),
                Map.of("version", "1", "url", "http://h/a", "sha256", "xyz", "size", 1L),
                Map.of("version", "1", "url", "http://h/a", "sha256", "00".repeat(32), "size", 1L << 40),
                Map.of("version", "1", "url", "http://h/a", "sha256", "00".repeat(32), "size", 1L, "kind", "deb"))) {
            CommandOutcome o = h.handle(command("b", "update", args), results::put);
            System.out.println("update " + args + ": " + o.status() + " " + o.reason());
            assertEquals(CommandOutcome.Status.REFUSED, o.status());
        }
    }

    @Test
    void aVersionTheLauncherPutBackIsReportedFailedByTheNextStart() throws Exception {
        VersionSlots slots = changes.versions();
        slots.install("7.0", Tars.write(data.resolve("a.tgz"), Tars.jarSet()));
        slots.activate(
                "7.0",
                new Trial("u7", "version 7.0", "7.0", "packaged", Instant.now().plusSeconds(60)));
        // What the launcher does after three starts that did not come up:
        Files.writeString(slots.dir().resolve(VersionSlots.STARTS), "3\n");
        Files.move(slots.dir().resolve(VersionSlots.TRIAL), slots.dir().resolve(VersionSlots.FAILED_TRIAL));
        Files.delete(slots.dir().resolve(VersionSlots.CURRENT));
        var timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            new Changes(data, Optional.empty(), Clock.systemUTC(), restarts::incrementAndGet)
                    .resume(results::put, () -> true, timer);
        } finally {
            timer.shutdownNow();
        }
        System.out.println("after the launcher's rollback: " + results.get("u7"));
        assertEquals(CommandOutcome.Status.FAILED, results.get("u7").status());
        assertTrue(
                results.get("u7").reason().contains("did not start (3 start(s))"),
                results.get("u7").reason());
        assertEquals(Optional.empty(), slots.failedTrial());
        assertEquals(List.of(), slots.installed(), "the failed version is deleted");
        assertEquals(0, restarts.get());
    }

    @Test
    void aTrialThatExpiresRollsBackAndTheNextStartReportsIt() throws Exception {
        changes.config()
                .stage(
                        "broker = tcp://127.0.0.1:1\n",
                        new Trial(
                                "c9",
                                "pushed configuration",
                                "",
                                "",
                                Instant.now().plusMillis(300)));
        var timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            changes.resume(results::put, () -> false, timer);
            Awaitility.await().untilAtomic(restarts, org.hamcrest.Matchers.equalTo(1));
            assertTrue(ConfigStore.layer(data).isEmpty(), "rolled back to no pushed layer");
            assertTrue(results.isEmpty(), "the failure is said by the next start");
            new Changes(data, Optional.empty(), Clock.systemUTC(), restarts::incrementAndGet)
                    .resume(results::put, () -> true, timer);
            System.out.println("next start said: " + results.get("c9"));
            assertEquals(CommandOutcome.Status.FAILED, results.get("c9").status());
            assertTrue(results.get("c9").reason().contains("rolled back"));
        } finally {
            timer.shutdownNow();
        }
    }
}
