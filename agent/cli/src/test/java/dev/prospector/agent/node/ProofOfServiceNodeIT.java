package dev.prospector.agent.node;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.pos.BandwidthProbe;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Audit;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.Claims;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.Report;
import dev.prospector.attest.ServiceEvidence;
import dev.prospector.attest.Sha256;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A board's proofs of service with a real broker and a verifier in the test that chooses each
 * receipt's challenge: every report carries {@code pos.run} and, once plotted, {@code pos.plot}; an
 * audit is answered at once with the audit's own nonce and openings that pass; a bandwidth test runs
 * on the probe thread and its receipts go out with the test's nonce even when a newer one is held.
 */
class ProofOfServiceNodeIT {
    private static final String FLEET = "pos";
    /** Long enough that every report after the first is made by a receipt's duty (or by the test). */
    private static final Duration INTERVAL = Duration.ofHours(1);

    @TempDir
    Path dir;

    /** Answers every report with an accepted receipt signed by its key, with the challenge the test chooses. */
    static final class ScriptedVerifier implements AutoCloseable {
        final DeviceKeys key = DeviceKeys.generate();
        final BlockingQueue<Claims> reports = new LinkedBlockingQueue<>();
        final MqttLink link;
        final Function<Claims, Receipt.Challenge> challenges;

        ScriptedVerifier(String url, Function<Claims, Receipt.Challenge> challenges) {
            this.challenges = challenges;
            this.link = new MqttLink(
                    MqttSettings.of(BrokerUrl.parse(url), "scripted-verifier").withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    this::onReport);
            link.subscribe(Topics.allReports(FLEET), 1);
            link.connect();
        }

        private void onReport(String topic, byte[] payload) {
            Claims c;
            try {
                c = Report.decode(payload).claims();
            } catch (dev.prospector.attest.MalformedReportException e) {
                throw new AssertionError("the board sent a report that does not decode: " + e.getMessage(), e);
            }
            reports.add(c);
            Receipt receipt = new Receipt(
                    true,
                    Optional.empty(),
                    "accepted",
                    Optional.of(c.device()),
                    OptionalLong.of(c.seq()),
                    false,
                    0,
                    false,
                    Sha256.newDigest().digest(payload),
                    Instant.now(),
                    Duration.ofMinutes(5),
                    Optional.of(challenges.apply(c)));
            link.publish(Topics.receipt(FLEET, c.device().value()), receipt.sign(key), 1, false);
        }

        Claims next() throws InterruptedException {
            Claims c = reports.poll(60, TimeUnit.SECONDS);
            assertNotNull(c, "a report within 60 s");
            return c;
        }

        @Override
        public void close() {
            link.close();
        }
    }

    private static byte[] freshNonce() {
        byte[] n = new byte[16];
        new SecureRandom().nextBytes(n);
        return n;
    }

    private AgentWiring.RunSettings settings(String url, Path data, DeviceKeys verifierKey) {
        Path pem = dir.resolve(data.getFileName() + "-verifier.pub");
        LocalStack.writePublicKeyPem(pem, verifierKey.publicKey());
        return AgentWiring.RunSettings.emulated(BrokerUrl.parse(url), FLEET, data, INTERVAL)
                .withVerifierKeys(List.of(pem));
    }

    @Test
    void anAuditIsAnsweredAtOnceWithItsOwnNonceAndOpeningsThatPass() throws Exception {
        byte[] audited = freshNonce();
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ScriptedVerifier verifier = new ScriptedVerifier(
                        broker.url(),
                        c -> c.seq() == 1
                                ? new Receipt.Challenge(audited, Duration.ofMinutes(10))
                                        .withAudit(8, Duration.ofSeconds(30))
                                : new Receipt.Challenge(freshNonce(), Duration.ofMinutes(10)))) {
            var s = settings(broker.url(), dir.resolve("board"), verifier.key)
                    .withProofs(AgentWiring.ProofSettings.OFF.withPlot(256L << 10));
            try (AgentNode node = AgentWiring.agent(s, Clock.systemUTC())) {
                await("the plot of the wiring's plot file")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> node.plot().commitment().isPresent());
                node.start();
                Claims first = verifier.next();
                ServiceEvidence pos1 = first.service().orElseThrow();
                var commitment = pos1.plot().orElseThrow();
                assertEquals(node.plot().commitment().orElseThrow(), commitment);
                assertTrue(pos1.runStart().isPresent() && pos1.audit().isEmpty());

                // The interval is an hour: the next report is the receipt's duty.
                Claims answer = verifier.next();
                assertEquals(2, answer.seq());
                assertArrayEquals(audited, answer.nonce().orElseThrow(), "the answer carries the audit's nonce");
                ServiceEvidence pos2 = answer.service().orElseThrow();
                assertEquals(pos1.runStart(), pos2.runStart(), "the same run");
                assertTrue(pos1.runStart().getAsLong() <= answer.uptime().toMillis());
                assertEquals(
                        new Audit.Check.Passed(8),
                        Audit.check(
                                first.device(),
                                commitment,
                                audited,
                                8,
                                pos2.audit().orElseThrow()));
                assertEquals(1, node.stats().auditsAnswered());
                assertEquals(PlotStore.State.DONE, node.stats().plot().state());
            }
        }
    }

    @Test
    void withoutAPlotAnAuditIsAnsweredWithTheBoardsOwnError() throws Exception {
        byte[] audited = freshNonce();
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ScriptedVerifier verifier = new ScriptedVerifier(
                        broker.url(),
                        c -> c.seq() == 1
                                ? new Receipt.Challenge(audited, Duration.ofMinutes(10))
                                        .withAudit(4, Duration.ofSeconds(30))
                                : new Receipt.Challenge(freshNonce(), Duration.ofMinutes(10)))) {
            try (AgentNode node =
                    AgentWiring.agent(settings(broker.url(), dir.resolve("board"), verifier.key), Clock.systemUTC())) {
                node.start();
                assertTrue(verifier.next().service().orElseThrow().plot().isEmpty(), "no plot committed");
                Claims answer = verifier.next();
                assertArrayEquals(audited, answer.nonce().orElseThrow());
                var error = answer.service().orElseThrow().audit().orElseThrow().error();
                assertTrue(error.orElseThrow().contains("no plot"), error.toString());
            }
        }
    }

    @Test
    void aBandwidthTestRunsOnTheProbeThreadAndItsReceiptsGoWithItsOwnNonce() throws Exception {
        byte[] tested = freshNonce();
        DeviceKeys endpoint = DeviceKeys.generate();
        CountDownLatch probing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<String> probeThread = new AtomicReference<>();
        BandwidthProbe probe = (device, nonce) -> {
            probeThread.set(Thread.currentThread().getName());
            probing.countDown();
            if (!release.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("never released");
            }
            return List.of(new BandwidthReceipt(
                            device,
                            nonce,
                            BandwidthReceipt.Direction.DOWN,
                            1 << 20,
                            Duration.ofMillis(100),
                            Instant.now())
                    .sign(endpoint));
        };
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ScriptedVerifier verifier = new ScriptedVerifier(
                        broker.url(),
                        c -> c.seq() == 1
                                ? new Receipt.Challenge(tested, Duration.ofMinutes(10)).withBandwidthTest()
                                : new Receipt.Challenge(freshNonce(), Duration.ofMinutes(10)))) {
            try (AgentNode node = AgentWiring.agent(
                    settings(broker.url(), dir.resolve("board"), verifier.key),
                    Clock.systemUTC(),
                    parts -> parts.withProbe(probe))) {
                node.start();
                verifier.next();
                assertTrue(probing.await(60, TimeUnit.SECONDS), "the test started");
                // Meanwhile another report, whose receipt brings a newer challenge.
                node.reportSoon();
                Claims meanwhile = verifier.next();
                assertTrue(meanwhile.service().orElseThrow().bandwidth().isEmpty());
                await("the newer challenge held")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> node.stats().delivered() >= 2);
                release.countDown();
                Claims withReceipts = verifier.next();
                assertArrayEquals(tested, withReceipts.nonce().orElseThrow(), "the test's nonce, not the newest");
                List<byte[]> bw = withReceipts.service().orElseThrow().bandwidth();
                assertEquals(1, bw.size());
                var opened = BandwidthReceipt.open(bw.get(0));
                assertTrue(opened.signedBy(endpoint.publicKey()));
                assertArrayEquals(tested, opened.receipt().nonce());
                assertEquals("probe-" + node.device(), probeThread.get());
                assertEquals(1, node.stats().bandwidthTests());
            }
        }
    }

    /**
     * A plot store whose audit reads wait until the thread is interrupted, then fail as a
     * {@code FileChannel} read does ({@link java.nio.channels.ClosedByInterruptException}).
     */
    static final class ReadsUntilInterrupted implements PlotStore {
        private final PlotStore plot = PlotStore.none();
        final CountDownLatch reading = new CountDownLatch(1);

        @Override
        public Optional<dev.prospector.attest.PlotCommitment> commitment() {
            return plot.commitment();
        }

        @Override
        public dev.prospector.attest.AuditAnswer answer(byte[] nonce, int k) throws java.io.IOException {
            reading.countDown();
            try {
                new CountDownLatch(1).await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.nio.channels.ClosedByInterruptException();
            }
            throw new AssertionError("the audit's reads were never interrupted");
        }

        @Override
        public Progress progress() {
            return plot.progress();
        }

        @Override
        public void close() {
            plot.close();
        }
    }

    /**
     * Stopping the agent while it reads its plot for an audit must not spend the audit as the
     * board's error at the next start. What holds it: the interrupt that ends the reads is still
     * set when the report (an answer saying "error") is appended, and the outbox's channel refuses
     * an interrupted write, so no such report is made. An outbox that wrote regardless would fail here.
     */
    @Test
    void anAuditWhoseReadsTheStopInterruptsIsNotAnsweredAsTheBoardsError() throws Exception {
        byte[] audited = freshNonce();
        Path data = dir.resolve("board");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ScriptedVerifier verifier = new ScriptedVerifier(
                        broker.url(),
                        c -> c.seq() == 1
                                ? new Receipt.Challenge(audited, Duration.ofMinutes(10))
                                        .withAudit(8, Duration.ofSeconds(30))
                                : new Receipt.Challenge(freshNonce(), Duration.ofMinutes(10)))) {
            var s = settings(broker.url(), data, verifier.key);
            var store = new ReadsUntilInterrupted();
            AgentNode node = AgentWiring.agent(s, Clock.systemUTC(), parts -> parts.withPlot(store));
            try {
                node.start();
                assertEquals(1, verifier.next().seq());
                assertTrue(store.reading.await(60, TimeUnit.SECONDS), "the audit's reads began");
            } finally {
                node.close(); // interrupts the report thread in the audit's reads
            }
            System.out.println("tried: stopping the agent while it read its plot for an audit; reports made: "
                    + node.stats().made() + ", pending in the outbox: "
                    + node.stats().pending());
            assertEquals(1, node.stats().made(), "a report was made with the interrupted audit");

            // Started again: the next report is a fresh one, not an audit answer saying "error".
            try (AgentNode again = AgentWiring.agent(s, Clock.systemUTC())) {
                again.start();
                Claims next = verifier.next();
                var audit = next.service().orElseThrow().audit();
                System.out.println("after the restart: seq " + next.seq() + ", audit " + audit);
                assertEquals(2, next.seq());
                assertTrue(audit.isEmpty(), "the restarted board sent an audit answer: " + audit);
            }
        }
    }
}
