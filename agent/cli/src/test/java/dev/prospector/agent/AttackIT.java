package dev.prospector.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.node.TrustedVerifiers;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import dev.prospector.hardware.BoardSelection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The board under attack by someone who can publish on the fleet's broker (a shared broker, a
 * leaked password), against a real Mosquitto, real agents and a real verifier. Each test runs an
 * attack, then stops the boards and waits until every report made is confirmed delivered by the
 * verifier's signed receipt; it shows zero reports lost and zero counted twice, and prints what was
 * tried, refused and lost.
 */
class AttackIT {
    private static final String FLEET = "atk";
    private static final Duration SETTLE = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    /** A verifier with its receipt key, whose public half the boards trust. */
    private record Verifier(DeviceKeys key, Path publicKey, Appraiser appraiser) {
        static Verifier create(Path dir) throws Exception {
            DeviceKeys key = DeviceKeys.generate();
            Path pub = dir.resolve("verifier.pub");
            Files.writeString(pub, key.publicPem());
            Appraiser appraiser = new Appraiser(AppraiserConfig.defaults()
                    .withFleet(FLEET)
                    .withAllowEmulated(true)
                    .withChallenges(new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL), false));
            return new Verifier(key, pub, appraiser);
        }

        /** Connects a verifier service; {@code persistent}: a session the broker keeps (and queues for) while it is away. */
        VerifierService connect(BrokerUrl url, String clientId, boolean persistent) {
            MqttSettings mqtt =
                    MqttSettings.of(url, clientId).withSessionExpiry(persistent ? Duration.ofHours(1) : Duration.ZERO);
            VerifierService service =
                    new VerifierService(FLEET, appraiser, key, Optional.empty(), VerifierService.links(mqtt));
            service.connect();
            return service;
        }
    }

    private AgentNode board(BrokerUrl url, String name, Verifier verifier) {
        var settings = AgentWiring.RunSettings.emulated(url, FLEET, dir.resolve(name), Duration.ofMillis(200))
                .withVerifierKeys(List.of(verifier.publicKey()))
                .withReceiptTimeout(Duration.ofSeconds(1));
        AgentNode node = AgentWiring.agent(settings, Clock.systemUTC());
        node.start();
        return node;
    }

    /** Stops reporting, waits until every report made is delivered, and checks the verifier counted each once. */
    private static void settleAndCheck(String attack, List<AgentNode> boards, Verifier verifier, String tried) {
        settleAndCheck(attack, boards, verifier, tried, 0);
    }

    /** As above; {@code earlier}: reports made and delivered by earlier runs of these boards (before a restart). */
    private static void settleAndCheck(
            String attack, List<AgentNode> boards, Verifier verifier, String tried, long earlier) {
        boards.forEach(AgentNode::stopReporting);
        await(attack + ": every report delivered")
                .atMost(SETTLE)
                .until(() -> boards.stream().allMatch(b -> b.stats().pending() == 0));
        long made = earlier;
        long delivered = earlier;
        long refusedReceipts = 0;
        long publishes = 0;
        for (AgentNode b : boards) {
            NodeStats s = b.stats();
            made += s.made();
            delivered += s.delivered();
            refusedReceipts += s.receiptsRefused();
            publishes += s.publishes();
            assertEquals(0, s.lost(), "no report declared lost");
            assertEquals(0, s.rejected(), "no report refused by the verifier");
        }
        Appraiser.Stats stats = verifier.appraiser().stats();
        System.out.printf(
                "%s: tried %s; made %d, published %d (with re-sends), accepted %d, duplicates answered %d, "
                        + "rejected %s, receipts refused by the boards %d, lost %d, counted twice %d%n",
                attack,
                tried,
                made,
                publishes,
                stats.accepted(),
                stats.duplicates(),
                nonZero(stats.rejected()),
                refusedReceipts,
                made - stats.accepted(),
                0);
        assertEquals(made, delivered, "every report made was confirmed delivered");
        assertEquals(made, stats.accepted(), "every report made was accepted once (duplicates are not counted again)");
    }

    private static Map<ReasonCode, Long> nonZero(Map<ReasonCode, Long> m) {
        Map<ReasonCode, Long> out = new java.util.TreeMap<>();
        m.forEach((k, v) -> {
            if (v > 0) {
                out.put(k, v);
            }
        });
        return out;
    }

    private static byte[] sha256(byte[] b) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static MqttLink attacker(BrokerUrl url, String id, MqttLink.Listener listener) {
        return new MqttLink(MqttSettings.of(url, id).withSessionExpiry(Duration.ZERO), Optional.empty(), listener);
    }

    @Test
    void forgedReceiptsAnsweredFirstAreIgnoredAndNoReportIsLost() throws Exception {
        Verifier verifier = Verifier.create(dir);
        DeviceKeys forger = DeviceKeys.generate();
        AtomicLong forged = new AtomicLong();
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            List<MqttLink> attackerHolder = new ArrayList<>();
            // The attacker sees every report (its hash is public) and answers first, with a made-up
            // challenge: once unsigned, once signed by its own key, once a rejection, and the two
            // again as a batch (docs/EVIDENCE.md section 8: one signature over a Merkle root, each
            // receipt with its path) under its own key.
            MqttLink attacker = attacker(url, "attacker", (topic, payload) -> {
                String device = topic.split("/")[3];
                byte[] hash = sha256(payload);
                Receipt fake = new Receipt(
                                true,
                                Optional.empty(),
                                "accepted",
                                Optional.empty(),
                                OptionalLong.empty(),
                                false,
                                0,
                                false,
                                hash,
                                Instant.now(),
                                Duration.ofMinutes(5))
                        .withChallenge(new Receipt.Challenge(new byte[] {6, 6, 6}, Duration.ofMinutes(10)));
                Receipt reject = new Receipt(
                        false,
                        Optional.of(ReasonCode.BAD_SIGNATURE),
                        "forged",
                        Optional.empty(),
                        OptionalLong.empty(),
                        false,
                        0,
                        false,
                        hash,
                        Instant.now(),
                        Duration.ofMinutes(5));
                String to = Topics.receipt(FLEET, device);
                attackerHolder.get(0).publish(to, fake.encode(), 1, false);
                attackerHolder.get(0).publish(to, fake.sign(forger), 1, false);
                attackerHolder.get(0).publish(to, reject.sign(forger), 1, false);
                for (byte[] envelope : ReceiptBatch.sign(List.of(fake, reject), forger)) {
                    attackerHolder.get(0).publish(to, envelope, 1, false);
                }
                forged.addAndGet(5);
            });
            attackerHolder.add(attacker);
            attacker.subscribe(Topics.allReports(FLEET), 1);
            attacker.connect();
            try (VerifierService service = verifier.connect(url, "verifier", false)) {
                List<AgentNode> boards = List.of(board(url, "a", verifier), board(url, "b", verifier));
                try {
                    await("reports made")
                            .atMost(SETTLE)
                            .until(() -> boards.stream().allMatch(b -> b.stats().made() >= 10));
                    settleAndCheck("forged receipts", boards, verifier, forged.get() + " forged receipts");
                    long refused = boards.stream()
                            .mapToLong(b -> b.stats().receiptsRefused())
                            .sum();
                    assertTrue(
                            refused >= forged.get() / 2, "the boards refused the forgeries they received: " + refused);
                    assertEquals(
                            0L,
                            verifier.appraiser().stats().rejected().get(ReasonCode.BAD_NONCE),
                            "no report answered the forged challenge");
                } finally {
                    boards.forEach(AgentNode::close);
                }
            } finally {
                attacker.close();
            }
        }
    }

    @Test
    void oversizedMessagesOnTheReceiptTopicNeverReachTheBoardAndNeverWedgeItsSession() throws Exception {
        Verifier verifier = Verifier.create(dir);
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (VerifierService service = verifier.connect(url, "verifier", false);
                    MqttLink attacker = attacker(url, "attacker", (t, p) -> {})) {
                attacker.connect();
                AgentNode first = board(url, "a", verifier);
                String receipts = Topics.receipt(FLEET, first.device());
                await("connected").atMost(SETTLE).until(() -> first.stats().connected());
                for (int i = 0; i < 3; i++) {
                    attacker.publish(receipts, new byte[16 << 20], 1, false).get();
                }
                // Small enough for the connection's bound, too large for a receipt: refused by the board unread.
                attacker.publish(receipts, new byte[TrustedVerifiers.MAX_RECEIPT_BYTES + 512], 1, false)
                        .get();
                await("the small oversized one refused")
                        .atMost(SETTLE)
                        .until(() -> first.stats().receiptsRefused() >= 1);
                first.stopReporting();
                await("the first run's reports delivered")
                        .atMost(SETTLE)
                        .until(() -> first.stats().pending() == 0);
                long earlier = first.stats().made();
                first.close();
                // Restart on the same data dir (the same persistent session): nothing comes back to wedge it.
                AgentNode again = board(url, "a", verifier);
                try {
                    await("reports after the restart")
                            .atMost(SETTLE)
                            .until(() -> again.stats().delivered() >= 5);
                    settleAndCheck(
                            "oversized receipts",
                            List.of(again),
                            verifier,
                            "3 x 16 MiB and 1 x 8.5 KiB on the receipt topic, then a restart",
                            earlier);
                    assertEquals(
                            0,
                            again.stats().receiptsRefused(),
                            "the 16 MiB messages never reached the board, before or after the restart");
                } finally {
                    again.close();
                }
            }
        }
    }

    @Test
    void junkThatFillsTheAbsentVerifiersQueueLosesNoReport() throws Exception {
        Verifier verifier = Verifier.create(dir);
        // The broker keeps at most 50 messages for a client that is away.
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"), "max_queued_messages 50")) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            verifier.connect(url, "verifier", true).close(); // the session exists; the verifier is away
            List<AgentNode> boards = new ArrayList<>();
            try (MqttLink attacker = attacker(url, "attacker", (t, p) -> {})) {
                attacker.connect();
                for (int i = 0; i < 500; i++) {
                    attacker.publish(
                            "prospector/v1/" + FLEET + "/pjunk" + i + "/report", new byte[] {1, 2, 3}, 1, false);
                }
                boards.add(board(url, "a", verifier));
                await("reports reach the broker, whose queue for the verifier is full")
                        .atMost(SETTLE)
                        .until(() -> boards.get(0).stats().sent() >= 5
                                && boards.get(0).stats().made() >= 10);
                try (VerifierService service = verifier.connect(url, "verifier", true)) {
                    settleAndCheck(
                            "junk filling the verifier's queue",
                            boards,
                            verifier,
                            "500 junk reports while the verifier was away (queue bound 50)");
                }
            } finally {
                boards.forEach(AgentNode::close);
            }
        }
    }

    @Test
    void aSessionTakeoverOfTheVerifierLosesNoReport() throws Exception {
        Verifier verifier = Verifier.create(dir);
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            String verifierId = "verifier-known-id";
            AtomicLong stolen = new AtomicLong();
            List<AgentNode> boards = new ArrayList<>();
            try (VerifierService service = verifier.connect(url, verifierId, true)) {
                boards.add(board(url, "a", verifier));
                await("first reports delivered")
                        .atMost(SETTLE)
                        .until(() -> boards.get(0).stats().delivered() >= 3);
                // The attacker knows the verifier's client id and takes its session: the broker hands
                // it the verifier's subscription and whatever is queued.
                MqttLink thief = new MqttLink(
                        MqttSettings.of(url, verifierId).withSessionExpiry(Duration.ofHours(1)),
                        Optional.empty(),
                        (t, p) -> stolen.incrementAndGet());
                thief.connect();
                long before = boards.get(0).stats().made();
                await("reports made while the session is taken")
                        .atMost(SETTLE)
                        .until(() -> boards.get(0).stats().made() >= before + 5);
                thief.close();
                settleAndCheck(
                        "verifier session takeover",
                        boards,
                        verifier,
                        "the verifier's session taken over while "
                                + (boards.get(0).stats().made() - before) + " reports were made (" + stolen.get()
                                + " reached the thief)");
            } finally {
                boards.forEach(AgentNode::close);
            }
        }
    }

    @Test
    void aSecondAgentOnTheSameDataDirIsRefusedWithTheHoldersPid() throws Exception {
        Verifier verifier = Verifier.create(dir);
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (VerifierService service = verifier.connect(url, "verifier", false)) {
                AgentNode first = board(url, "a", verifier);
                try {
                    Failure e = assertThrows(Failure.class, () -> board(url, "a", verifier));
                    System.out.println("two boards on one data dir: the second refused: " + e.getMessage());
                    assertTrue(
                            e.getMessage()
                                    .contains(Long.toString(
                                            ProcessHandle.current().pid())),
                            e.getMessage());
                    await("reports").atMost(SETTLE).until(() -> first.stats().made() >= 5);
                    settleAndCheck(
                            "two boards on one data dir",
                            List.of(first),
                            verifier,
                            "a second agent on the same data dir");
                } finally {
                    first.close();
                }
                // Once the first has stopped, the data dir is free again.
                AgentNode next = board(url, "a", verifier);
                next.close();
            }
        }
    }

    @Test
    void oversizedAndFloodedLedgerBlocksNeitherReachNorWedgeTheBoardAndAGenuineBlockIsStillAttested() throws Exception {
        Verifier verifier = Verifier.create(dir);
        Path ledgerFile = dir.resolve("shard.blocks");
        int gen = dev.prospector.agent.cli.ProspectorCommand.execute(
                new String[] {
                    "ledger",
                    "gen",
                    "--txs",
                    "20",
                    "--accounts",
                    "50",
                    "--blocks",
                    "1",
                    "--seed",
                    "5",
                    "--out",
                    ledgerFile.toString()
                },
                new java.io.PrintStream(new java.io.ByteArrayOutputStream()),
                new java.io.PrintStream(new java.io.ByteArrayOutputStream()));
        assertEquals(0, gen);
        byte[] block1;
        try (dev.prospector.ledger.BlockFile.Reader reader = new dev.prospector.ledger.BlockFile.Reader(ledgerFile)) {
            block1 = reader.next().orElseThrow();
        }
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            List<dev.prospector.ledger.Attestation> attestations = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (VerifierService service = verifier.connect(url, "verifier", false);
                    MqttLink attacker = attacker(url, "attacker", (t, p) -> {});
                    MqttLink network = attacker(url, "network", (t, p) -> {
                        try {
                            attestations.add(dev.prospector.ledger.Attestation.decode(p));
                        } catch (Exception e) {
                            throw new AssertionError(e);
                        }
                    })) {
                network.subscribe("prospector/v1/" + FLEET + "/ledger/+/attest/+", 1);
                network.connect();
                attacker.connect();
                var settings = new AgentWiring.RunSettings(
                                url,
                                FLEET,
                                dir.resolve("a"),
                                BoardSelection.EMULATED,
                                Duration.ofMillis(200),
                                AgentWiring.DEFAULT_OUTBOX_BYTES,
                                1,
                                Set.of(),
                                Optional.of(ledgerFile))
                        .withVerifierKeys(List.of(verifier.publicKey()))
                        .withReceiptTimeout(Duration.ofSeconds(1));
                AgentNode board = AgentWiring.agent(settings, Clock.systemUTC());
                board.start();
                try {
                    await("connected").atMost(SETTLE).until(() -> board.stats().connected());
                    String blocks = dev.prospector.ledger.Attestation.blockTopic(FLEET, 0);
                    for (int i = 0; i < 3; i++) {
                        attacker.publish(blocks, new byte[16 << 20], 1, false).get(); // beyond the board's packet bound
                    }
                    byte[] junk = new byte[dev.prospector.agent.node.LedgerService.MAX_BLOCK_BYTES - 1000];
                    for (int i = 0; i < 40; i++) {
                        junk[0] = (byte) i;
                        attacker.publish(
                                blocks, junk, 1, false); // within the bound: queued, attested invalid or dropped
                    }
                    attacker.publish(blocks, junk, 1, false).get();
                    await("the flood is dealt with")
                            .atMost(SETTLE)
                            .until(() -> attestations.size() + board.ledgerBlocksDropped() >= 41);
                    network.publish(blocks, block1, 1, false).get();
                    await("the genuine block attested valid")
                            .atMost(SETTLE)
                            .until(() -> attestations.stream().anyMatch(dev.prospector.ledger.Attestation::valid));
                    long invalid = attestations.stream().filter(a -> !a.valid()).count();
                    settleAndCheck(
                            "oversized and flooded ledger blocks",
                            List.of(board),
                            verifier,
                            "3 x 16 MiB and 41 x ~2 MB junk blocks, then a genuine block (attested invalid " + invalid
                                    + ", dropped unread " + board.ledgerBlocksDropped()
                                    + ", genuine block attested valid)");
                } finally {
                    board.close();
                }
            }
        }
    }
}
