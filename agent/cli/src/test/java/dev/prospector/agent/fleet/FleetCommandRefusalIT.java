package dev.prospector.agent.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.Cbor;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.CoseSign1;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.Limits;
import dev.prospector.attest.OperatorKey;
import dev.prospector.attest.Sha256;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fleet commands under attack by anyone who can publish on the broker, against a real Mosquitto,
 * a real board (emulated hardware, real keys and files) and a real verifier: every bad command is
 * refused, never run, answered with its reason (a result signed by the device key), and the board
 * keeps reporting (its reports still accepted by the verifier). The bad commands all ask for
 * {@code restart}, so that a command that ran would show as a restart request.
 */
class FleetCommandRefusalIT {
    private static final String FLEET = "cmd";
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;

    /** A key that signs anything, with its operator.pub written for the board. */
    private record Signer(DeviceKeys keys, Path pub) {
        static Signer create(Path dir, String name) throws Exception {
            DeviceKeys k = DeviceKeys.generate();
            Path pub = dir.resolve(name + ".pub");
            Files.writeString(pub, k.publicPem());
            return new Signer(k, pub);
        }

        byte[] kid() {
            return OperatorKey.keyId(keys.publicKey());
        }

        byte[] sign(byte[] payload) {
            return CoseSign1.sign(kid(), payload, keys);
        }

        byte[] sign(FleetCommand c) {
            return sign(c.encodePayload());
        }
    }

    private final List<String> restarts = new CopyOnWriteArrayList<>();
    private final Map<ByteBuffer, CommandResult> results = new ConcurrentHashMap<>();

    private static FleetCommand command(
            String target, String name, Map<String, Object> args, Instant iat, Instant exp) {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        return new FleetCommand(
                name + "-" + RANDOM.nextInt(1_000_000),
                FLEET,
                target,
                name,
                FleetCommand.cborMap(args),
                nonce,
                iat,
                exp);
    }

    private static FleetCommand restartFor(String device) {
        Instant now = Instant.now();
        return command(FleetCommand.DEVICE_PREFIX + device, "restart", Map.of(), now, now.plusSeconds(300));
    }

    private AgentNode board(BrokerUrl url, Path verifierPub) {
        var settings = AgentWiring.RunSettings.emulated(url, FLEET, dir.resolve("board"), Duration.ofMillis(300))
                .withVerifierKeys(List.of(verifierPub))
                .withReceiptTimeout(Duration.ofSeconds(2));
        return AgentWiring.agent(settings, Clock.systemUTC());
    }

    private CommandService commands(AgentNode node, Signer admin, Signer viewer) {
        return AgentWiring.commands(
                node,
                new FleetSettings(
                        List.of(
                                new TrustedOperators.Spec(admin.pub(), Role.ADMIN),
                                new TrustedOperators.Spec(viewer.pub(), Role.VIEWER)),
                        List.of("lab"),
                        Duration.ofMinutes(2)),
                dir.resolve("board"),
                Clock.systemUTC(),
                restarts::add);
    }

    /** Publishes {@code bytes} on {@code topic} and waits for the board's signed answer to exactly these bytes. */
    private CommandResult exchange(MqttLink attacker, String topic, byte[] bytes, byte[] deviceKey) throws Exception {
        ByteBuffer hash = ByteBuffer.wrap(Sha256.of(bytes));
        results.remove(hash);
        attacker.publish(topic, bytes, 1, false).get(10, TimeUnit.SECONDS);
        await("answer to " + bytes.length + " bytes")
                .atMost(Duration.ofSeconds(20))
                .until(() -> results.containsKey(hash));
        return results.get(hash);
    }

    private MqttLink attacker(BrokerUrl url, String device, byte[][] deviceKeyHolder) {
        MqttLink link = new MqttLink(
                MqttSettings.of(url, "attacker").withSessionExpiry(Duration.ZERO),
                Optional.empty(),
                (topic, payload) -> {
                    try {
                        var d = CommandResult.decode(payload);
                        assertTrue(d.verify(deviceKeyHolder[0]), "the answer is signed by the device key");
                        results.put(ByteBuffer.wrap(d.result().commandHash()), d.result());
                    } catch (Exception e) {
                        System.out.println("unreadable answer: " + e);
                    }
                });
        link.subscribe(Topics.commandResult(FLEET, device), 1);
        link.connect();
        return link;
    }

    private record Case(String attack, String topic, byte[] bytes, String reasonContains) {}

    /** A board with its command service, a verifier and an attacker's connection, on one broker. */
    private record Rig(
            BrokerUrl url,
            Signer admin,
            Signer viewer,
            Signer stranger,
            Path verifierPub,
            Appraiser appraiser,
            VerifierService verifier,
            AgentNode node,
            CommandService service,
            byte[][] deviceKey,
            MqttLink attacker) {}

    /** Starts the verifier, the board (trusting an admin and a viewer key) and the attacker's link. */
    private Rig rig(Mosquitto broker) throws Exception {
        Signer admin = Signer.create(dir, "admin");
        Signer viewer = Signer.create(dir, "viewer");
        Signer stranger = Signer.create(dir, "stranger");
        DeviceKeys verifierKey = DeviceKeys.generate();
        Path verifierPub = dir.resolve("verifier.pub");
        Files.writeString(verifierPub, verifierKey.publicPem());
        Appraiser appraiser = new Appraiser(AppraiserConfig.defaults()
                .withFleet(FLEET)
                .withAllowEmulated(true)
                .withChallenges(new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL), false));
        BrokerUrl url = BrokerUrl.parse(broker.url());
        VerifierService verifier = new VerifierService(
                FLEET,
                appraiser,
                verifierKey,
                Optional.empty(),
                VerifierService.links(MqttSettings.of(url, "verifier").withSessionExpiry(Duration.ZERO)));
        verifier.connect();
        AgentNode node = board(url, verifierPub);
        CommandService service = commands(node, admin, viewer);
        node.start();
        byte[][] deviceKey = {node.keys().publicKey()};
        MqttLink attacker = attacker(url, node.device(), deviceKey);
        await("board connected")
                .atMost(Duration.ofSeconds(20))
                .until(() -> node.stats().connected());
        return new Rig(
                url, admin, viewer, stranger, verifierPub, appraiser, verifier, node, service, deviceKey, attacker);
    }

    @Test
    void everyBadCommandIsRefusedAnsweredAndNeverRunWhileTheBoardKeepsReporting() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            Rig rig = rig(broker);
            AgentNode node = rig.node();
            CommandService service = rig.service();
            String device = node.device();
            byte[][] deviceKey = rig.deviceKey();
            String topic = Topics.command(FLEET, device);
            Instant now = Instant.now();

            FleetCommand replayed = restartFor(device);
            byte[] replayedBytes = rig.admin().sign(replayed);
            byte[] badSignature = rig.admin().sign(restartFor(device));
            badSignature[badSignature.length - 5] ^= 0x40;
            byte[] garbage = new byte[200];
            RANDOM.nextBytes(garbage);
            // 50 nested maps inside args: a valid signature over a payload too deep to decode.
            Cbor.Value nested = new Cbor.Text("bottom");
            for (int i = 0; i < 50; i++) {
                nested = Cbor.map().put("n", nested).build();
            }
            byte[] deep = Cbor.encode(Cbor.map()
                    .put("v", new Cbor.Int(1))
                    .put("id", new Cbor.Text("deep"))
                    .put("fleet", new Cbor.Text(FLEET))
                    .put("to", new Cbor.Text("device:" + device))
                    .put("name", new Cbor.Text("restart"))
                    .put("args", Cbor.map().put("x", nested).build())
                    .put("nonce", new Cbor.Bytes(new byte[16]))
                    .put("iat", new Cbor.Int(now.toEpochMilli()))
                    .put("exp", new Cbor.Int(now.plusSeconds(60).toEpochMilli()))
                    .build());
            // 20 KiB of arguments, signed: over the 16 KiB a command may have.
            byte[] big = rig.admin()
                    .sign(command(
                                    "device:" + device,
                                    "restart",
                                    Map.of("pad", "x".repeat(20_000)),
                                    now,
                                    now.plusSeconds(60))
                            .encodePayload());
            String other = DeviceKeys.generate().deviceId().value();

            List<Case> cases = List.of(
                    new Case("garbage (200 random bytes)", topic, garbage, "not a fleet command"),
                    new Case("empty message", topic, new byte[0], "empty message"),
                    new Case(
                            "unsigned (the command's CBOR payload without COSE_Sign1)",
                            topic,
                            restartFor(device).encodePayload(),
                            "not a tagged COSE_Sign1"),
                    new Case(
                            "signed by an unknown key",
                            topic,
                            rig.stranger().sign(restartFor(device)),
                            "unknown operator key"),
                    new Case(
                            "role too low (viewer asks restart)",
                            topic,
                            rig.viewer().sign(restartFor(device)),
                            "role too low"),
                    new Case("bad signature (one bit flipped)", topic, badSignature, "bad signature"),
                    new Case(
                            "expired",
                            topic,
                            rig.admin()
                                    .sign(command(
                                            "device:" + device,
                                            "restart",
                                            Map.of(),
                                            now.minusSeconds(600),
                                            now.minusSeconds(300))),
                            "expired"),
                    new Case(
                            "issued in the future (10 min)",
                            topic,
                            rig.admin()
                                    .sign(command(
                                            "device:" + device,
                                            "restart",
                                            Map.of(),
                                            now.plusSeconds(600),
                                            now.plusSeconds(900))),
                            "issued in the future"),
                    new Case(
                            "addressed to another device (on this board's topic)",
                            topic,
                            rig.admin()
                                    .sign(command("device:" + other, "restart", Map.of(), now, now.plusSeconds(300))),
                            "addressed to device:" + other),
                    new Case(
                            "addressed to another group (on the fleet topic)",
                            Topics.allCommand(FLEET),
                            rig.admin().sign(command("group:kitchen", "restart", Map.of(), now, now.plusSeconds(300))),
                            "addressed to group:kitchen"),
                    new Case(
                            "for another fleet",
                            topic,
                            rig.admin()
                                    .sign(new FleetCommand(
                                            "x1",
                                            "elsewhere",
                                            "device:" + device,
                                            "restart",
                                            Cbor.map().build(),
                                            new byte[16],
                                            now,
                                            now.plusSeconds(60))),
                            "for fleet elsewhere"),
                    new Case("oversized (20 KiB, signed)", topic, big, "exceeds the limit"),
                    new Case(
                            "deeply nested (50 maps, signed)",
                            topic,
                            rig.admin().sign(deep),
                            "nested deeper"));

            // A good command first, kept to be replayed.
            CommandResult first = exchange(rig.attacker(), topic, replayedBytes, deviceKey[0]);
            assertEquals("ok", first.status(), "a good restart command is run: " + first);
            await("the restart was asked").atMost(Duration.ofSeconds(10)).until(() -> restarts.size() == 1);
            long executedBefore = service.stats().executed();
            long madeBefore = node.stats().made();

            List<Case> all = new ArrayList<>(cases);
            all.add(new Case("replayed (the good command again)", topic, replayedBytes, "nonce already used"));
            for (Case c : all) {
                CommandResult r = exchange(rig.attacker(), c.topic(), c.bytes(), deviceKey[0]);
                System.out.printf(
                        "fleet command attack: tried %s (%d bytes): %s: %s%n",
                        c.attack(), c.bytes().length, r.status(), r.reason());
                assertEquals("refused", r.status(), c.attack());
                assertTrue(
                        r.reason().contains(c.reasonContains()),
                        c.attack() + ": reason '" + r.reason() + "' names '" + c.reasonContains() + "'");
            }
            assertEquals(executedBefore, service.stats().executed(), "no bad command ran");
            assertEquals(1, restarts.size(), "no bad command asked for a restart");
            System.out.println(
                    "fleet command attack: refused by reason " + service.stats().refusedBy());

            // The board kept reporting, and the verifier accepted its reports.
            await("reports go on")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> node.stats().made() > madeBefore + 3);
            await("reports delivered")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> node.stats().delivered() >= madeBefore + 3);
            assertEquals(0, node.stats().rejected(), "no report rejected");
            assertTrue(rig.appraiser().stats().accepted() >= madeBefore + 3, "the verifier accepted the reports");

            // Across a restart of the agent: the replayed command is still refused.
            service.close();
            node.close();
            AgentNode again = board(rig.url(), rig.verifierPub());
            CommandService service2 = commands(again, rig.admin(), rig.viewer());
            again.start();
            await("board back")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> again.stats().connected());
            CommandResult afterRestart = exchange(rig.attacker(), topic, replayedBytes, deviceKey[0]);
            System.out.printf(
                    "fleet command attack: tried the good command again after an agent restart: %s: %s%n",
                    afterRestart.status(), afterRestart.reason());
            assertEquals("refused", afterRestart.status());
            assertTrue(afterRestart.reason().contains("nonce already used"));
            assertEquals(0, service2.stats().executed());
            assertEquals(1, restarts.size(), "the replay after the restart did not run");

            service2.close();
            again.close();
            rig.attacker().close();
            rig.verifier().close();
        }
    }

    @Test
    void aFloodOfTenThousandBadCommandsCostsBoundedMemoryAndNoReport() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            Rig rig = rig(broker);
            AgentNode node = rig.node();
            CommandService service = rig.service();
            String device = node.device();
            byte[][] deviceKey = rig.deviceKey();
            await("first report delivered")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> node.stats().delivered() > 0);
            String topic = Topics.command(FLEET, device);
            long heapBefore = usedHeapAfterGc();
            long madeBefore = node.stats().made();
            int n = 10_000;
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                byte[] bytes;
                switch (i % 4) {
                    case 0 -> {
                        bytes = new byte[64 + i % 100];
                        RANDOM.nextBytes(bytes);
                    }
                    case 1 -> bytes = rig.stranger().sign(restartFor(device));
                    case 2 -> {
                        bytes = rig.admin().sign(restartFor(device));
                        bytes[bytes.length - 3] ^= 1;
                    }
                    default -> bytes = rig.viewer().sign(restartFor(device));
                }
                sent.add(rig.attacker().publish(topic, bytes, 1, false));
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            // The broker may drop some for the board (its queue for one client is bounded too): wait
            // until what arrived is all handled and nothing more comes.
            await("every bad command that arrived handled or dropped")
                    .atMost(Duration.ofSeconds(120))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        var s = service.stats();
                        long before = s.received();
                        return s.refused() + s.dropped() == s.received()
                                && (s.received() == n || stableFor(service, before));
                    });
            double seconds = (System.nanoTime() - start) / 1e9;
            long heapAfter = usedHeapAfterGc();
            await("reports go on after the flood")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> node.stats().delivered() >= madeBefore + 3);
            var s = service.stats();
            System.out.printf(
                    "fleet command flood: published %d bad commands in %.1f s; board received %d (the broker dropped %d), refused %d (by reason %s),"
                            + " dropped at the full queue %d, answered %d, refused without answer (rate limit) %d, ran %d;"
                            + " heap used after GC %d -> %d KiB; reports made %d -> %d, rejected %d%n",
                    n,
                    seconds,
                    s.received(),
                    n - s.received(),
                    s.refused(),
                    s.refusedBy(),
                    s.dropped(),
                    s.answered(),
                    s.unanswered(),
                    s.executed(),
                    heapBefore >> 10,
                    heapAfter >> 10,
                    madeBefore,
                    node.stats().made(),
                    node.stats().rejected());
            assertEquals(0, s.executed(), "no bad command ran");
            assertTrue(restarts.isEmpty(), "no restart asked");
            assertTrue(s.received() > n / 2, "the board saw most of the flood: " + s.received());
            assertEquals(s.received(), s.refused() + s.dropped(), "each message that arrived was refused or dropped");
            assertTrue(
                    s.answered()
                            <= CommandService.REFUSAL_BURST
                                    + (long) (seconds * CommandService.REFUSALS_PER_MINUTE / 60)
                                    + 5,
                    "answers are rate limited: " + s.answered());
            assertTrue(
                    heapAfter - heapBefore < 32L << 20,
                    "heap grew by less than 32 MiB: " + ((heapAfter - heapBefore) >> 10) + " KiB");
            assertEquals(0, node.stats().rejected());
            assertNotNull(rig.appraiser().stats());
            assertTrue(rig.appraiser().stats().accepted() >= madeBefore + 3, "the verifier accepted the reports");
            service.close();
            node.close();
            rig.attacker().close();
            rig.verifier().close();
        }
    }

    /** True if no message arrived in the last 2 s (the flood is over). */
    private static boolean stableFor(CommandService service, long received) throws InterruptedException {
        Thread.sleep(2000); // observing quiet, not synchronising: the broker gives no "done" signal
        return service.stats().received() == received;
    }

    @Test
    void answersCarryTheCorrelationDataAndGoToAResponseTopicOnlyUnderReplies() throws Exception {
        Signer admin = Signer.create(dir, "admin");
        Signer viewer = Signer.create(dir, "viewer");
        DeviceKeys verifierKey = DeviceKeys.generate();
        Path verifierPub = dir.resolve("verifier.pub");
        Files.writeString(verifierPub, verifierKey.publicPem());
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            AgentNode node = board(url, verifierPub);
            CommandService service = commands(node, admin, viewer);
            node.start();
            String device = node.device();
            await("board connected")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> node.stats().connected());
            record Got(String topic, String id, Optional<byte[]> correlation) {}
            List<Got> got = new CopyOnWriteArrayList<>();
            String elsewhere =
                    Topics.report(FLEET, DeviceKeys.generate().deviceId().value());
            MqttLink console = new MqttLink(
                    MqttSettings.of(url, "console").withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    new MqttLink.AcknowledgingListener() {
                        @Override
                        public void onMessage(String topic, byte[] payload, Runnable ack) {
                            onMessage(topic, payload, MqttLink.Reply.NONE, ack);
                        }

                        @Override
                        public void onMessage(String topic, byte[] payload, MqttLink.Reply reply, Runnable ack) {
                            try {
                                got.add(new Got(
                                        topic,
                                        CommandResult.decode(payload).result().commandId(),
                                        reply.correlationData()));
                            } catch (Exception e) {
                                got.add(new Got(topic, "unreadable", reply.correlationData()));
                            }
                            ack.run();
                        }
                    });
            console.subscribe(Topics.commandResult(FLEET, device), 1);
            console.subscribe(Topics.repliesRoot(FLEET) + "#", 1);
            console.subscribe(elsewhere, 1);
            console.connect();
            String replies = Topics.repliesRoot(FLEET) + "console-1";
            Instant now = Instant.now();
            FleetCommand first = command("device:" + device, "ping", Map.of(), now, now.plusSeconds(60));
            console.publish(
                    Topics.command(FLEET, device),
                    admin.sign(first),
                    1,
                    false,
                    new MqttLink.Reply(Optional.of(replies), Optional.of(new byte[] {1, 2, 3})));
            FleetCommand second = command("device:" + device, "ping", Map.of(), now, now.plusSeconds(60));
            console.publish(
                    Topics.command(FLEET, device),
                    admin.sign(second),
                    1,
                    false,
                    new MqttLink.Reply(Optional.of(elsewhere), Optional.of(new byte[] {4})));
            // A third one, answered after the second: once its copy is in, the second's would be too.
            FleetCommand third = command("device:" + device, "ping", Map.of(), now, now.plusSeconds(60));
            console.publish(
                    Topics.command(FLEET, device),
                    admin.sign(third),
                    1,
                    false,
                    new MqttLink.Reply(Optional.of(replies), Optional.empty()));
            await("the third answer's copy")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> got.stream().anyMatch(g -> g.topic().equals(replies) && g.id().equals(third.id())));
            got.forEach(g -> System.out.println("fleet command reply: " + g.id() + " on " + g.topic() + " correlation "
                    + g.correlation().map(java.util.Arrays::toString).orElse("none")));
            var firstOnResult = got.stream()
                    .filter(g -> g.id().equals(first.id()) && g.topic().endsWith("/cmd/result"))
                    .findFirst()
                    .orElseThrow();
            assertTrue(java.util.Arrays.equals(
                    new byte[] {1, 2, 3}, firstOnResult.correlation().orElseThrow()));
            var firstCopy = got.stream()
                    .filter(g -> g.id().equals(first.id()) && g.topic().equals(replies))
                    .findFirst()
                    .orElseThrow();
            assertTrue(java.util.Arrays.equals(
                    new byte[] {1, 2, 3}, firstCopy.correlation().orElseThrow()));
            assertTrue(got.stream()
                    .anyMatch(g -> g.id().equals(second.id()) && g.topic().endsWith("/cmd/result")));
            assertTrue(got.stream().noneMatch(g -> g.topic().equals(elsewhere)), "nothing published outside replies/");
            console.close();
            service.close();
            node.close();
        }
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
