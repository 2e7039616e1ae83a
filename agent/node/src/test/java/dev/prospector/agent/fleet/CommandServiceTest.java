package dev.prospector.agent.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.OperatorKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service with a channel in memory: later results are kept on disk and sent after a (re)start. */
class CommandServiceTest {
    private static final String FLEET = "f";

    @TempDir
    Path dir;

    /** A channel that records what is published and can be offline. */
    static final class FakeChannel implements CommandService.Channel {
        final Map<String, CommandService.Inbound> routes = new ConcurrentHashMap<>();
        final List<byte[]> published = new CopyOnWriteArrayList<>();
        final List<Runnable> hooks = new CopyOnWriteArrayList<>();
        final AtomicBoolean up = new AtomicBoolean(true);

        @Override
        public void route(String topic, CommandService.Inbound inbound) {
            routes.put(topic, inbound);
        }

        @Override
        public CompletableFuture<Void> publish(String topic, byte[] payload, Optional<byte[]> correlationData) {
            if (!up.get()) {
                return CompletableFuture.failedFuture(new IllegalStateException("offline"));
            }
            published.add(payload);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> publishRetained(String topic, byte[] payload) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void onConnect(Runnable hook) {
            hooks.add(hook);
        }

        @Override
        public boolean connected() {
            return up.get();
        }

        List<CommandResult> results() {
            return published.stream()
                    .map(b -> {
                        try {
                            return CommandResult.decode(b).result();
                        } catch (Exception e) {
                            throw new AssertionError(e);
                        }
                    })
                    .toList();
        }
    }

    private CommandService service(
            DeviceKeys keys, Path operatorPub, FakeChannel channel, AtomicReference<ResultSink> sinkOut) {
        CommandHandler slow = new CommandHandler() {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public Role minimumRole() {
                return Role.ADMIN;
            }

            @Override
            public CommandOutcome handle(SignedCommand command, ResultSink later) {
                sinkOut.set(later);
                assertEquals(Role.ADMIN, command.role());
                assertEquals(7L, command.args().get("n"));
                return CommandOutcome.pending("under way");
            }
        };
        var s = new CommandService(
                FLEET,
                keys,
                List.of(),
                TrustedOperators.load(List.of(new TrustedOperators.Spec(operatorPub, Role.ADMIN))),
                List.of(slow),
                Clock.systemUTC(),
                CommandService.DEFAULT_SKEW,
                dir,
                channel,
                new CommandService.AfterAnswer(),
                Map::of,
                null);
        s.start();
        return s;
    }

    @Test
    void aPendingCommandsFinalOutcomeSurvivesBeingOfflineAndARestart() throws Exception {
        DeviceKeys keys = DeviceKeys.generate();
        OperatorKey op = OperatorKey.generate();
        op.write(dir.resolve("op"));
        Path pub = dir.resolve("op").resolve(OperatorKey.PUBLIC_KEY_FILE);
        var channel = new FakeChannel();
        var sink = new AtomicReference<ResultSink>();
        CommandService s = service(keys, pub, channel, sink);
        String topic = Topics.command(FLEET, keys.deviceId().value());
        Instant now = Instant.now();
        var cmd = new FleetCommand(
                "job-1",
                FLEET,
                "device:" + keys.deviceId().value(),
                "slow",
                FleetCommand.cborMap(Map.of("n", 7L)),
                new byte[16],
                now,
                now.plusSeconds(60));
        channel.routes.get(topic).onMessage(topic, cmd.sign(op), MqttLink.Reply.NONE);
        await().atMost(Duration.ofSeconds(10)).until(() -> channel.results().size() == 1);
        assertEquals("pending", channel.results().get(0).status());

        // Offline when the final outcome comes: kept on disk, not lost.
        channel.up.set(false);
        sink.get().send("job-1", CommandOutcome.ok(Map.of("done", true)));
        Path kept = dir.resolve(CommandService.DIR).resolve("results");
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            try (var files = Files.list(kept)) {
                return files.count() == 1;
            }
        });
        s.close();

        // The agent restarts and connects: the kept result goes out, and its file goes away.
        var channel2 = new FakeChannel();
        CommandService s2 = service(keys, pub, channel2, new AtomicReference<>());
        channel2.hooks.forEach(Runnable::run);
        await().atMost(Duration.ofSeconds(10)).until(() -> channel2.results().size() == 1);
        CommandResult r = channel2.results().get(0);
        assertEquals("job-1", r.commandId());
        assertEquals("ok", r.status());
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            try (var files = Files.list(kept)) {
                return files.count() == 0;
            }
        });
        // The same command again is a replay, also for the new service.
        channel2.routes.get(topic).onMessage(topic, cmd.sign(op), MqttLink.Reply.NONE);
        await().atMost(Duration.ofSeconds(10)).until(() -> channel2.results().size() == 2);
        assertEquals("refused", channel2.results().get(1).status());
        assertTrue(channel2.results().get(1).reason().startsWith("nonce already used"));
        s2.close();
    }
}
