package dev.prospector.agent.verifier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What someone who can publish on the fleet's broker tries against a running verifier, on real
 * Mosquitto: each test prints what was tried, what was refused and what was lost.
 */
class VerifierAttackIT {
    private static final String FLEET = "atk";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private static ReportInput input() {
        return new ReportInput(
                FLEET,
                Instant.now().truncatedTo(ChronoUnit.MILLIS),
                1,
                Optional.empty(),
                "boot",
                Duration.ofSeconds(60),
                List.of(new MeasurementClaim("uptime", 60, "s", "test")),
                "1.0",
                new byte[32]);
    }

    private static Appraiser appraiser(AppraiserConfig config) {
        return new Appraiser(config.withFleet(FLEET));
    }

    private static MqttLink attacker(BrokerUrl url) {
        MqttLink link = new MqttLink(
                MqttSettings.of(url, "attacker-" + System.nanoTime()).withSessionExpiry(Duration.ZERO),
                Optional.empty(),
                (topic, payload) -> {});
        link.connect();
        return link;
    }

    @Test
    void aGenuineReportShownFirstOnAnotherDevicesTopicIsStillAcceptedAndCountedOnceOnItsOwn() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (VerifierService verifier =
                            LocalStack.verifier(url, FLEET, appraiser(AppraiserConfig.defaults()), "v-topic");
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                    MqttLink attacker = attacker(url)) {
                verifier.connect();
                ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                String own = device.keys().deviceId().value();
                String victim = DeviceKeys.generate().deviceId().value();
                byte[] report = device.sign(input()).bytes();

                attacker.publish(Topics.report(FLEET, victim), report, 1, false).get();
                await("the receipt of the foreign copy")
                        .atMost(WAIT)
                        .until(() -> receipts.receipts().size() >= 1);
                attacker.publish(Topics.report(FLEET, own), report, 1, false).get();
                await("the receipt of the genuine copy")
                        .atMost(WAIT)
                        .until(() -> receipts.receipts().size() >= 2);

                Receipt foreign = receipts.receipts().get(0);
                Receipt genuine = receipts.receipts().get(1);
                assertEquals(Optional.of(ReasonCode.WRONG_TOPIC), foreign.reason(), foreign.toString());
                assertTrue(
                        genuine.ok() && !genuine.duplicate(), () -> "the genuine copy is a new acceptance: " + genuine);
                var counts = verifier.counts().get(own);
                assertEquals(1, counts.accepted(), "counted once");
                assertEquals(0, counts.duplicates());
                assertFalse(verifier.counts().containsKey(victim), "the topic's device gets no state");
                System.out.println("topic before chain: tried the report on " + victim + "'s topic first: refused "
                        + foreign.reason().orElseThrow() + "; then on its own topic: accepted " + counts.accepted()
                        + " time(s), duplicates 0, lost 0");
            }
        }
    }

    @Test
    void messagesOnTopicsThatNameNoDeviceAreDroppedUnappraisedCountedAndGrowNoState() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Appraiser appraiser = appraiser(AppraiserConfig.defaults());
            try (VerifierService verifier = LocalStack.verifier(url, FLEET, appraiser, "v-junk");
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                    MqttLink attacker = attacker(url)) {
                verifier.connect();
                ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                byte[] report = device.sign(input()).bytes();
                int junk = 0;
                for (int i = 0; i < 20; i++) {
                    String huge = "p" + Character.toString('a' + i).repeat(30_000); // a 30 KB topic segment
                    attacker.publish("prospector/v1/" + FLEET + "/" + huge + "/report", report, 1, false)
                            .get();
                    junk++;
                }
                for (String segment : List.of(
                        "not-a-device", "P" + device.keys().deviceId().value().substring(1), "x.y")) {
                    attacker.publish(Topics.report(FLEET, segment), report, 1, false)
                            .get();
                    junk++;
                }
                attacker.publish(Topics.report(FLEET, device.keys().deviceId().value()), report, 1, false)
                        .get();
                int tried = junk;
                await("junk dropped").atMost(WAIT).until(() -> verifier.droppedTopics() == tried);
                await("the genuine report's receipt").atMost(WAIT).until(() -> receipts.count("accepted") == 1);

                assertEquals(
                        1,
                        verifier.counts().size(),
                        () -> "counts only for the real device: "
                                + verifier.counts().keySet());
                assertEquals(0, verifier.untracked().rejected(), "junk is not appraised");
                assertEquals(1, appraiser.trackedDevices());
                assertEquals(1, receipts.receipts().size(), "no receipt for junk");
                System.out.println("junk topics: tried " + tried
                        + " messages (20 with a 30 KB device segment): dropped " + verifier.droppedTopics()
                        + " unappraised, 0 receipts; the genuine report behind them: accepted, lost 0");
            }
        }
    }

    @Test
    void anOversizedMessageNeverReachesTheVerifierAndGarbageIsAcknowledgedOnceSoThePersistentSessionNeverWedges()
            throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            MqttSettings persistent = MqttSettings.of(url, "v-packet").withSessionExpiry(Duration.ofHours(1));
            List<Appraisal> seen = new CopyOnWriteArrayList<>();
            DeviceKeys receiptKey = DeviceKeys.generate();
            ReportSigner first = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
            String device = first.keys().deviceId().value();
            try (MqttLink attacker = attacker(url)) {
                try (VerifierService verifier = new VerifierService(
                        FLEET,
                        appraiser(AppraiserConfig.defaults()),
                        receiptKey,
                        Optional.empty(),
                        VerifierService.links(persistent))) {
                    verifier.observe((d, outcome) -> seen.add(outcome));
                    verifier.connect();
                    attacker.publish(Topics.report(FLEET, device), new byte[100 * 1024], 1, false)
                            .get();
                    attacker.publish(Topics.report(FLEET, device), new byte[1024], 1, false)
                            .get();
                    attacker.publish(
                                    Topics.report(FLEET, device),
                                    first.sign(input()).bytes(),
                                    1,
                                    false)
                            .get();
                    await("the genuine report")
                            .atMost(WAIT)
                            .until(() -> seen.stream().anyMatch(Appraisal::accepted));
                    assertEquals(2, seen.size(), () -> "the 100 KiB message is never delivered: " + seen);
                    assertEquals(
                            ReasonCode.MALFORMED, ((Appraisal.Rejected) seen.get(0)).reason(), "garbage is refused");
                }
                // Away, then back on the same session: nothing comes again, and new reports flow.
                attacker.publish(Topics.report(FLEET, device), new byte[100 * 1024], 1, false)
                        .get();
                attacker.publish(
                                Topics.report(FLEET, device),
                                first.sign(input()).bytes(),
                                1,
                                false)
                        .get();
                try (VerifierService again = new VerifierService(
                        FLEET,
                        appraiser(AppraiserConfig.defaults()),
                        receiptKey,
                        Optional.empty(),
                        VerifierService.links(persistent))) {
                    again.observe((d, outcome) -> seen.add(outcome));
                    again.connect();
                    await("the report queued while away").atMost(WAIT).until(() -> seen.size() >= 3);
                    ReportSigner other = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                    attacker.publish(
                                    Topics.report(FLEET, other.keys().deviceId().value()),
                                    other.sign(input()).bytes(),
                                    1,
                                    false)
                            .get();
                    await("a new report after the reconnect").atMost(WAIT).until(() -> seen.size() >= 4);
                }
            }
            assertEquals(
                    List.of(false, true, true, true),
                    seen.stream().map(Appraisal::accepted).toList(),
                    seen::toString);
            System.out.println(
                    "packet size: tried two 100 KiB messages and 1 KiB of garbage: the big ones never delivered"
                            + " (bound " + VerifierService.MAX_PACKET_BYTES
                            + " bytes), the garbage refused malformed once and not"
                            + " redelivered after a reconnect; 3 genuine reports accepted, lost 0");
        }
    }

    @Test
    void everyReceiptIsSignedByTheVerifierAndADuplicateGetsTheSameKindOfReceiptCountedOnce() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (VerifierService verifier =
                            LocalStack.verifier(url, FLEET, appraiser(AppraiserConfig.defaults()), "v-signed");
                    ReceiptWatcher trusting = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                    ReceiptWatcher wrongKey = new ReceiptWatcher(
                            broker.url(), FLEET, DeviceKeys.generate().publicKey());
                    MqttLink attacker = attacker(url)) {
                verifier.connect();
                ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                String id = device.keys().deviceId().value();
                byte[] report = device.sign(input()).bytes();
                for (int i = 0; i < 3; i++) {
                    attacker.publish(Topics.report(FLEET, id), report, 1, false)
                            .get(); // a board re-sending until its receipt
                }
                // Someone else's word on the receipt topic: an unsigned receipt, as the verifier used to send.
                Receipt fake = Receipt.of(
                        new Appraisal.Rejected(
                                ReasonCode.REPLAY, "forged", Optional.empty(), java.util.OptionalLong.empty()),
                        report,
                        AppraiserConfig.defaults());
                attacker.publish(Topics.receipt(FLEET, id), fake.encode(), 1, false)
                        .get();
                await("three signed receipts and the fake")
                        .atMost(WAIT)
                        .until(() -> trusting.receipts().size() >= 3 && trusting.forged() >= 1);

                List<Receipt> all = trusting.receipts();
                assertEquals(3, all.size(), all::toString);
                assertTrue(all.stream().allMatch(Receipt::ok), all::toString);
                assertEquals(
                        List.of(false, true, true),
                        all.stream().map(Receipt::duplicate).toList());
                assertEquals(1, trusting.forged(), "the unsigned receipt does not verify");
                assertEquals(0, wrongKey.receipts().size(), "no receipt verifies with another key");
                var counts = verifier.counts().get(id);
                assertEquals(1, counts.accepted());
                assertEquals(2, counts.duplicates());
                System.out.println(
                        "signed receipts: a report sent 3 times got 3 receipts signed by the verifier (1 accepted,"
                                + " 2 duplicates, counted once); a forged receipt refused by the board's check; lost 0");
            }
        }
    }

    @Test
    void aFloodOfNewSelfSignedDevicesIsRateLimitedAndNeitherPinnedNorTracked() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Appraiser appraiser = appraiser(AppraiserConfig.defaults().withNewDevicesPerMinute(2));
            try (VerifierService verifier = LocalStack.verifier(url, FLEET, appraiser, "v-flood");
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                    MqttLink attacker = attacker(url)) {
                verifier.connect();
                int tried = 6;
                for (int i = 0; i < tried; i++) {
                    ReportSigner stranger = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                    attacker.publish(
                                    Topics.report(
                                            FLEET, stranger.keys().deviceId().value()),
                                    stranger.sign(input()).bytes(),
                                    1,
                                    false)
                            .get();
                }
                await("a receipt each")
                        .atMost(WAIT)
                        .until(() -> receipts.receipts().size() >= tried);
                assertEquals(2, receipts.count("accepted"));
                assertTrue(
                        receipts.receipts().stream()
                                .filter(r -> !r.ok())
                                .allMatch(r -> r.reason().orElseThrow() == ReasonCode.RATE_LIMITED),
                        receipts.receipts()::toString);
                assertEquals(2, appraiser.trackedDevices());
                assertEquals(2, verifier.counts().size());
                assertEquals(tried - 2, verifier.untracked().rejected());
                System.out.println("new-device flood: tried " + tried
                        + " self-signed devices at a cap of 2/min: accepted 2," + " refused " + (tried - 2)
                        + " as rate-limited (their boards retry later), state for 2 devices only");
            }
        }
    }

    @Test
    void anEmulatedBoardIsRefusedByAVerifierThatDoesNotAllowEmulatedEvidence() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (VerifierService verifier =
                            LocalStack.verifier(url, FLEET, appraiser(AppraiserConfig.defaults()), "v-strict");
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                    AgentNode board = LocalStack.emulatedBoard(
                            url, FLEET, dir.resolve("board"), Duration.ofMillis(200), Clock.systemUTC())) {
                verifier.connect();
                board.start();
                await("receipts").atMost(WAIT).until(() -> receipts.receipts().size() >= 3);
                board.stopReporting();
                assertTrue(
                        receipts.receipts().stream().allMatch(r -> r.reason().equals(Optional.of(ReasonCode.EMULATED))),
                        receipts.receipts()::toString);
                assertTrue(verifier.counts().isEmpty(), "nothing of an emulated board is tracked");
                System.out.println("emulated evidence: an emulated board's "
                        + receipts.receipts().size()
                        + " reports to a verifier without --allow-emulated: all refused as emulated, none accepted");
            }
        }
    }
}
