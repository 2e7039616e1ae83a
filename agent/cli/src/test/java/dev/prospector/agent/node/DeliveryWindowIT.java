package dev.prospector.agent.node;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.Report;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The board's window of seqs: while one report has no receipt (the broker lost it), the board
 * sends newer ones only up to the verifier's replay window ({@link Limits#DUPLICATE_WINDOW} seqs),
 * so that the lost report, once it comes through, is still accepted and not refused as a replay.
 * A gatekeeper in front of a real appraiser plays the verifier and "loses" one report: it answers
 * every other report and none of that one's copies until the test lets it through (or refuses it
 * for good, which must not hold the board back).
 */
class DeliveryWindowIT {
    private static final String FLEET = "window";
    /** The held report is the board's third. */
    private static final int HELD_AFTER = 2;

    @TempDir
    Path dir;

    @Test
    void aLostReportHoldsNewerOnesBackUntilItsReceiptComes() throws Exception {
        Outcome o = stallThen(Gatekeeper::release);
        NodeStats s = o.board();
        System.out.printf(
                "window: released seq %d; the board made %d, delivered %d, rejected %d; the verifier accepted %d,"
                        + " refused %s%n",
                o.held(),
                s.made(),
                s.delivered(),
                s.rejected(),
                o.verifier().accepted(),
                o.verifier().rejected().entrySet().stream()
                        .filter(e -> e.getValue() > 0)
                        .toList());
        assertEquals(s.made(), o.verifier().accepted(), "every report accepted, the held one too");
        assertEquals(s.made(), s.delivered(), "every report left the outbox on its acceptance");
        assertEquals(0, s.rejected(), "none refused (as a replay)");
    }

    @Test
    void aReportRefusedForGoodDoesNotHoldTheBoardBack() throws Exception {
        Outcome o = stallThen(Gatekeeper::refuse);
        NodeStats s = o.board();
        System.out.printf(
                "window: refused seq %d for good; the board made %d, delivered %d, rejected %d%n",
                o.held(), s.made(), s.delivered(), s.rejected());
        assertEquals(1, s.rejected(), "the refused report counted as rejected");
        assertEquals(s.made() - 1, s.delivered(), "every other report delivered");
    }

    /** What the gatekeeper does with the held report once the board stalls on it. */
    private interface Decision {
        void apply(Gatekeeper gate) throws Exception;
    }

    /** The held seq and the board's and the verifier's counts once the board's outbox is empty. */
    private record Outcome(long held, NodeStats board, Appraiser.Stats verifier) {}

    /**
     * Runs a board until it stalls on the held report, lets the gatekeeper decide that report's
     * fate, and waits until the window moved well past it and the board's outbox is empty.
     */
    private Outcome stallThen(Decision decision) throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                Gatekeeper gate = new Gatekeeper(BrokerUrl.parse(broker.url()));
                AgentNode board = board(BrokerUrl.parse(broker.url()), gate)) {
            board.start();
            long held = awaitStall(gate, board);
            decision.apply(gate);
            await("the window moving on past the held report")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> gate.maxSeq() >= held + Limits.DUPLICATE_WINDOW + 5);
            board.stopReporting();
            await("the board's outbox empty")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> board.stats().pending() == 0);
            return new Outcome(held, board.stats(), gate.appraiser.stats());
        }
    }

    /**
     * Waits until the board made well past the window while the gatekeeper holds one report, and
     * checks that no report at or past the window was sent meanwhile; returns the held seq.
     */
    private static long awaitStall(Gatekeeper gate, AgentNode board) {
        await("the board making reports past the window of the held one")
                .atMost(Duration.ofSeconds(60))
                .until(() -> gate.heldSeq() > 0
                        && board.stats().made() >= gate.heldSeq() + Limits.DUPLICATE_WINDOW + 8
                        && gate.maxSeq() >= gate.heldSeq() + Limits.DUPLICATE_WINDOW - 1);
        long held = gate.heldSeq();
        long max = gate.maxSeq();
        System.out.printf(
                "window: report seq %d lost (%d copies swallowed); the board made %d and sent up to seq %d"
                        + " (held back %d times); the verifier's window is %d seqs%n",
                held,
                gate.heldCopies.get(),
                board.stats().made(),
                max,
                board.heldBackForWindow(),
                Limits.DUPLICATE_WINDOW);
        assertTrue(
                max < held + Limits.DUPLICATE_WINDOW,
                "seq " + max + " was sent while seq " + held + " had no receipt: the verifier would refuse " + held
                        + " as a replay");
        return held;
    }

    private AgentNode board(BrokerUrl url, Gatekeeper gate) throws Exception {
        Path pub = dir.resolve("verifier.pub");
        Files.writeString(pub, gate.receiptKey.publicPem());
        var settings = AgentWiring.RunSettings.emulated(url, FLEET, dir.resolve("board"), Duration.ofMillis(100))
                .withVerifierKeys(List.of(pub))
                // Longer than the test: the held report is not sent again on its own.
                .withReceiptTimeout(Duration.ofMinutes(5));
        return AgentWiring.agent(settings, Clock.systemUTC());
    }

    /** Plays the verifier with a real appraiser; swallows every copy of the board's third report until told. */
    private static final class Gatekeeper implements AutoCloseable {
        final DeviceKeys receiptKey = DeviceKeys.generate();
        final Appraiser appraiser =
                new Appraiser(AppraiserConfig.defaults().withFleet(FLEET).withAllowEmulated(true));
        final AtomicInteger heldCopies = new AtomicInteger();
        private final AtomicLong maxSeq = new AtomicLong(-1);
        private final AtomicLong heldSeq = new AtomicLong(-1);
        private volatile boolean holding = true;
        private volatile byte[] heldBytes;
        private final MqttLink link;

        Gatekeeper(BrokerUrl url) {
            link = new MqttLink(MqttSettings.of(url, "gatekeeper"), Optional.empty(), this::onReport);
            link.subscribe(Topics.allReports(FLEET), 1);
            link.connect();
        }

        long heldSeq() {
            return heldSeq.get();
        }

        long maxSeq() {
            return maxSeq.get();
        }

        /** On Paho's one callback thread: reports come one at a time, in order. */
        private void onReport(String topic, byte[] payload) {
            long seq;
            try {
                seq = Report.decode(payload).claims().seq();
            } catch (MalformedReportException e) {
                throw new AssertionError("the board sent a report that does not decode", e);
            }
            heldSeq.compareAndSet(-1, seq + HELD_AFTER);
            maxSeq.accumulateAndGet(seq, Math::max);
            if (holding && seq == heldSeq.get()) {
                heldBytes = payload;
                heldCopies.incrementAndGet();
                return;
            }
            String device = Topics.deviceOfReport(FLEET, topic).orElseThrow();
            send(device, Receipt.of(appraiser.appraise(payload, new DeviceId(device)), payload, appraiser.config()));
        }

        /** The held report comes through at last: appraised and answered. */
        void release() throws MalformedReportException {
            holding = false;
            byte[] report = heldBytes;
            DeviceId device = Report.decode(report).claims().device();
            send(device.value(), Receipt.of(appraiser.appraise(report, device), report, appraiser.config()));
        }

        /** The held report is refused for a reason that sending it again cannot change. */
        void refuse() throws MalformedReportException {
            holding = false;
            byte[] report = heldBytes;
            DeviceId device = Report.decode(report).claims().device();
            Appraisal refused = new Appraisal.Rejected(
                    ReasonCode.IMPLAUSIBLE, "refused by the test", Optional.of(device), OptionalLong.of(heldSeq.get()));
            send(device.value(), Receipt.of(refused, report, appraiser.config()));
        }

        private void send(String device, Receipt receipt) {
            link.publish(Topics.receipt(FLEET, device), receipt.sign(receiptKey), 1, false);
        }

        @Override
        public void close() {
            link.close();
        }
    }
}
