package dev.prospector.agent;

import static dev.prospector.agent.verifier.AuditOutcome.CONTAINED;
import static dev.prospector.agent.verifier.AuditOutcome.FAILURE;
import static dev.prospector.agent.verifier.AuditOutcome.OFFLINE;
import static dev.prospector.agent.verifier.AuditOutcome.SUCCESS;
import static dev.prospector.agent.verifier.AuditOutcome.UNKNOWN;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.measure.MeasureEndpoint;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.pos.BandwidthProbe;
import dev.prospector.agent.pos.HttpBandwidthProbe;
import dev.prospector.agent.pos.PlotFile;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.AuditOutcome;
import dev.prospector.agent.verifier.ProofOfService;
import dev.prospector.agent.verifier.ServiceSettings;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Audit;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.CoseSign1;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.Sha256;
import dev.prospector.hardware.BoardSelection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cheats of proofs of service (issue 12), each against the real agent ({@link AgentNode} put
 * together by {@link AgentWiring}, a cheating plot store or bandwidth probe injected where the
 * cheat needs one) and the real verifier ({@link VerifierWiring} with proofs of service on and a
 * measurement endpoint of its own on loopback) over a real Mosquitto, with an honest board beside
 * the cheat. Each test shows the cheat refused or scored down with its reason, and the honest board
 * untouched: every report accepted, every audit passed, every bandwidth test counted. Each prints
 * what was tried, what the verifier refused and why, and what the cheat lost.
 *
 * <p>Time on the verifier's side is a {@link ShiftedClock}: the system clock plus an offset. A
 * cheat that takes longer than the audit deadline (regenerating a plot from its seed, an answer
 * held back) moves it forward by that time while it answers, rather than really taking seconds:
 * deterministic on a loaded machine. Audit periods and epochs are aligned to it so that nothing
 * else falls due while it jumps.
 */
class ProofOfServiceAttackIT {
    private static final String FLEET = "poscheat";
    private static final Duration INTERVAL = Duration.ofMillis(250);
    private static final long PLOT = 256L << 10;
    private static final long MEASURE_BYTES = 256L << 10;
    /** An honest board answers an audit within a few hundred ms even on a loaded machine: room to spare. */
    private static final Duration DEADLINE = Duration.ofSeconds(5);
    /** What a late answer takes on the verifier's clock. */
    private static final Duration LATE = DEADLINE.plusSeconds(1);
    /** Audits after the first in the late-answer tests: none falls due within a test. */
    private static final Duration AUDIT_PERIOD = Duration.ofMinutes(2);
    /** The shortest epoch the verifier takes. */
    private static final Duration EPOCH = Duration.ofMinutes(1);

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final AgentWiring.ProofSettings PLOTTED = AgentWiring.ProofSettings.OFF.withPlot(PLOT);
    private static final Pattern NAMES_A_LEAF = Pattern.compile("audit failed: leaf \\d+ is not .*");

    @TempDir
    Path dir;

    // ------------------------------------------------------------------ the cheats

    @Test
    void aBoardThatDeletedPartOfItsPlotFailsTheAuditedLeavesUntilDisqualified() throws Exception {
        ServiceSettings proofs =
                ServiceSettings.defaults().withAudits(Duration.ofMillis(500), Audit.DEFAULT_LEAVES, DEADLINE);
        try (World w = new World("deleted", new ShiftedClock(), proofs)) {
            AgentNode honest = w.board("honest", 1, Clock.systemUTC(), PLOTTED, UnaryOperator.identity());
            AgentNode cheat = w.board("cheat", 2, Clock.systemUTC(), PLOTTED, UnaryOperator.identity());
            plotted(honest);
            PlotCommitment committed = plotted(cheat);
            // Delete three quarters of the leaves (zeros where they were); plot.tree and plot.meta stay.
            long leaves = committed.params().leaves();
            int leafSize = committed.params().leafSize();
            long from = leaves / 4;
            try (FileChannel bin =
                    FileChannel.open(w.dataDir("cheat").resolve(PlotFile.BIN), StandardOpenOption.WRITE)) {
                ByteBuffer zeros = ByteBuffer.allocate(Math.toIntExact((leaves - from) * leafSize));
                long at = from * leafSize;
                while (zeros.hasRemaining()) {
                    at += bin.write(zeros, at);
                }
                bin.force(true);
            }
            honest.start();
            cheat.start();
            await("the cheat disqualified, its receipts saying so")
                    .atMost(WAIT)
                    .until(() -> w.receiptsOf(cheat).stream()
                            .anyMatch(r -> r.disqualified().isPresent()));
            await("the honest board audited a few times").atMost(WAIT).until(() -> w.audits(honest, SUCCESS) >= 3);
            w.settle();

            List<String> failed = w.sentences(cheat, "audit failed");
            long failures = w.audits(cheat, FAILURE);
            assertTrue(failures >= 5, "five failures in a row disqualify: " + failures);
            assertEquals(failures, failed.size(), "each failure said in its receipt: " + failed);
            failed.forEach(s -> assertTrue(NAMES_A_LEAF.matcher(s).find(), "the reason names a leaf: " + s));
            ProofOfService.DeviceScore score = w.score(cheat);
            String dq = score.disqualified().orElseThrow();
            assertTrue(dq.contains("disqualified for rewards") && dq.contains("failed audit(s)"), dq);
            assertTrue(score.reputation() < 0.8, "reputation " + score.reputation());
            List<Receipt> receipts = w.receiptsOf(cheat);
            assertEquals(
                    Optional.of(dq), receipts.get(receipts.size() - 1).disqualified(), "the latest receipt carries dq");
            assertEquals(0, score.storageProvenBytes(), "no storage proven");
            assertEquals(0.0, score.score(), "a disqualified device scores 0");
            assertEquals(0, w.rejections(cheat).size(), "a proof problem never rejects the report itself");
            assertEquals(PLOT, w.score(honest).storageProvenBytes(), "the honest board's plot is proven");
            String honestLine = w.honest(honest);
            report(
                    "deleted plot",
                    String.format(
                            Locale.ROOT,
                            "zeroed leaves %d..%d of %d (%d%% of plot.bin), answered %d audit(s) from it",
                            from,
                            leaves - 1,
                            leaves,
                            (leaves - from) * 100 / leaves,
                            cheat.stats().auditsAnswered()),
                    String.format(
                            Locale.ROOT,
                            "%d audit(s) FAILURE (%d passed by luck), e.g. \"%s\"; dq \"%s\"",
                            failures,
                            w.audits(cheat, SUCCESS),
                            failed.get(0),
                            dq),
                    String.format(
                            Locale.ROOT,
                            "reputation %.3f, storage proven 0 of %d bytes, score 0, reward 0",
                            score.reputation(),
                            committed.bytes()),
                    honestLine);
        }
    }

    @Test
    void aBoardThatKeepsOnlyTheSeedRegeneratesTooLateAndThreeLateAnswersFail() throws Exception {
        ShiftedClock clock = new ShiftedClock().alignedTo(AUDIT_PERIOD, Duration.ofSeconds(1));
        ServiceSettings proofs = ServiceSettings.defaults().withAudits(AUDIT_PERIOD, Audit.DEFAULT_LEAVES, DEADLINE);
        try (World w = new World("seed-only", clock, proofs)) {
            AgentNode honest = w.board("honest", 1, Clock.systemUTC(), PLOTTED, UnaryOperator.identity());
            plotted(honest);
            honest.start();
            // The honest board's first audit comes at once; its next lies in the next audit period.
            await("the honest board's first audit").atMost(WAIT).until(() -> w.audits(honest, SUCCESS) == 1);
            AtomicReference<SeedOnlyPlot> store = new AtomicReference<>();
            AgentNode cheat = w.board("cheat", 2, Clock.systemUTC(), AgentWiring.ProofSettings.OFF, parts -> {
                SeedOnlyPlot s = new SeedOnlyPlot(parts.keys().deviceId(), PLOT, () -> clock.advance(LATE));
                store.set(s);
                return parts.withPlot(s);
            });
            cheat.start();
            await("three late answers, the third a failure").atMost(WAIT).until(() -> w.audits(cheat, FAILURE) == 1);
            w.settle();

            assertEquals(2, w.audits(cheat, CONTAINED), "two late answers contained");
            assertEquals(0, w.audits(cheat, SUCCESS));
            assertEquals(0, w.audits(cheat, OFFLINE));
            assertEquals(3, store.get().answers.get(), "three audits, each answered from a regenerated plot");
            List<String> late = w.sentences(cheat, "audit passed but late");
            assertEquals(3, late.size(), late.toString());
            assertTrue(late.get(0).contains("contained, audited again"), late.get(0));
            assertTrue(late.get(1).contains("contained, audited again"), late.get(1));
            assertTrue(late.get(2).contains("the 3rd late answer in a row: a failure"), late.get(2));
            ProofOfService.DeviceScore score = w.score(cheat);
            assertTrue(score.reputation() < 1.0, "reputation " + score.reputation());
            assertEquals(0, score.storageProvenBytes());
            assertEquals(0, w.rejections(cheat).size());
            String honestLine = w.honest(honest);
            report(
                    "seed only",
                    String.format(
                            Locale.ROOT,
                            "kept the seed and root of a %d KiB plot, regenerated all %d leaves for each of %d audits"
                                    + " (the last took %d ms here, a small plot with a cold JIT; a real plot takes"
                                    + " longer than the deadline, modelled as %d s on the verifier's clock, deadline"
                                    + " %d s)",
                            PLOT >> 10,
                            PLOT / Plot.DEFAULT_LEAF_SIZE,
                            store.get().answers.get(),
                            store.get().regenerationNanos.get() / 1_000_000,
                            LATE.toSeconds(),
                            DEADLINE.toSeconds()),
                    "2 CONTAINED (\"" + late.get(0) + "\"), then 1 FAILURE (\"" + late.get(2) + "\")",
                    String.format(
                            Locale.ROOT, "reputation %.3f, storage proven 0 of %d bytes", score.reputation(), PLOT),
                    honestLine);
        }
    }

    @Test
    void anAnswerAfterTheDeadlineIsContainedAndAuditedAgainAtOnce() throws Exception {
        ShiftedClock clock = new ShiftedClock().alignedTo(AUDIT_PERIOD, Duration.ofSeconds(1));
        ServiceSettings proofs = ServiceSettings.defaults().withAudits(AUDIT_PERIOD, Audit.DEFAULT_LEAVES, DEADLINE);
        try (World w = new World("late", clock, proofs)) {
            AgentNode honest = w.board("honest", 1, Clock.systemUTC(), PLOTTED, UnaryOperator.identity());
            plotted(honest);
            honest.start();
            await("the honest board's first audit").atMost(WAIT).until(() -> w.audits(honest, SUCCESS) == 1);
            AgentNode late = w.board(
                    "late",
                    3,
                    Clock.systemUTC(),
                    AgentWiring.ProofSettings.OFF,
                    parts -> parts.withPlot(new LateOnce(
                            plottedFile(parts.keys().deviceId(), w.dataDir("late-plot")), () -> clock.advance(LATE))));
            late.start();
            await("the late answer, then one in time").atMost(WAIT).until(() -> w.audits(late, SUCCESS) == 1);
            w.settle();

            assertEquals(1, w.audits(late, CONTAINED));
            assertEquals(0, w.audits(late, FAILURE));
            List<Receipt> audited = w.receiptsOf(late).stream()
                    .filter(r -> r.service().orElse("").contains("audit passed"))
                    .toList();
            assertEquals(2, audited.size(), audited.toString());
            String contained = audited.get(0).service().orElseThrow();
            assertTrue(contained.contains("audit passed but late") && contained.contains("contained, audited again"));
            assertEquals(
                    Audit.DEFAULT_LEAVES,
                    audited.get(0).challenge().orElseThrow().auditLeaves(),
                    "the receipt of the late answer asks the next audit at once");
            String passed = audited.get(1).service().orElseThrow();
            assertTrue(passed.contains("audit passed in"), passed);
            ProofOfService.DeviceScore score = w.score(late);
            assertTrue(score.disqualified().isEmpty());
            assertEquals(PLOT, score.storageProvenBytes(), "proven by the audit in time");
            String honestLine = w.honest(honest);
            report(
                    "late answer",
                    "held its first audit answer back " + LATE.toSeconds() + " s (deadline " + DEADLINE.toSeconds()
                            + " s) on the verifier's clock",
                    "1 CONTAINED (\"" + contained + "\"), audited again at once: \"" + passed + "\"",
                    "nothing beyond the re-audit (a late answer alone is not a failure)",
                    honestLine);
        }
    }

    @Test
    void forgedMovedReplayedAndUntrustedBandwidthReceiptsAreNotCounted() throws Exception {
        // The honest board measures against an endpoint the verifier trusts by key (--measure-key),
        // with room for a test every 2 s; the cheat's genuine receipts come from the verifier's own.
        try (MeasureEndpoint trusted = MeasureEndpoint.start(
                        new MeasureEndpoint.Settings("127.0.0.1", 0, 8L << 20, 8, 600, Duration.ofSeconds(60)),
                        DeviceKeys.generate(),
                        Clock.systemUTC(),
                        System::nanoTime);
                MeasureEndpoint untrusted =
                        MeasureEndpoint.start(MeasureEndpoint.Settings.of("127.0.0.1", 0), DeviceKeys.generate())) {
            ServiceSettings proofs = ServiceSettings.defaults()
                    .withMeasurePort(freePort(), "127.0.0.1")
                    .withTrustedEndpoints(List.of(trusted.publicKey()))
                    .withBandwidthEvery(Duration.ofSeconds(2));
            try (World w = new World("bandwidth", new ShiftedClock(), proofs)) {
                MeasureEndpoint own = w.verifier.measureEndpoint().orElseThrow();
                AgentNode honest = w.board(
                        "honest",
                        1,
                        Clock.systemUTC(),
                        AgentWiring.ProofSettings.OFF.withMeasurement(
                                List.of(URI.create(trusted.url())), MEASURE_BYTES),
                        UnaryOperator.identity());
                CheatingProbe probe = new CheatingProbe(own, untrusted);
                AgentNode cheat = w.board(
                        "cheat", 2, Clock.systemUTC(), AgentWiring.ProofSettings.OFF, parts -> parts.withProbe(probe));
                honest.start();
                cheat.start();
                await("the cheat's five tests judged")
                        .atMost(WAIT)
                        .until(() -> w.sentences(cheat, "bandwidth:").size() >= CheatingProbe.CHEATS);
                w.settle();

                List<String> judged = w.sentences(cheat, "bandwidth:");
                assertEquals(CheatingProbe.CHEATS, judged.size(), judged.toString());
                String[] reasons = {
                    "refused: not signed by endpoint " + own.keyId(),
                    "refused: made for another device",
                    "refused: made for another challenge",
                    "refused: endpoint " + untrusted.keyId() + " is not trusted",
                };
                for (int i = 0; i < reasons.length; i++) {
                    String s = judged.get(i);
                    assertTrue(
                            s.contains("no receipt counted") && s.contains(reasons[i]), probe.tried.get(i) + ": " + s);
                }
                String doubled = judged.get(4);
                assertTrue(
                        doubled.contains("test counted from 3 receipt(s)")
                                && doubled.contains("3 refused: a second receipt of one endpoint and direction"),
                        doubled);
                ProofOfService.DeviceScore score = w.score(cheat);
                assertEquals(1, score.bandwidthSamples(), "only the genuine receipts of the fifth test counted");
                assertEquals(0, w.rejections(cheat).size(), "a proof problem never rejects the report itself");
                ProofOfService.DeviceScore honestScore = w.score(honest);
                List<String> honestTests = w.sentences(honest, "bandwidth:");
                assertTrue(honestTests.size() >= 2, honestTests.toString());
                honestTests.forEach(s -> assertTrue(s.contains("test counted from 3 receipt(s)"), s));
                assertEquals(honestTests.size(), honestScore.bandwidthSamples());
                String honestLine = w.honest(honest);
                List<String> tried = new ArrayList<>();
                List<String> refused = new ArrayList<>();
                for (int i = 0; i < judged.size(); i++) {
                    tried.add((i + 1) + ". " + probe.tried.get(i));
                    refused.add((i + 1) + ". \"" + judged.get(i) + "\"");
                }
                report(
                        "bandwidth receipts",
                        probe.cheating.get() + " receipts misused in " + probe.tried.size() + " tests: "
                                + String.join("; ", tried),
                        probe.cheating.get() + " of " + probe.cheating.get() + ": " + String.join("; ", refused),
                        String.format(
                                Locale.ROOT,
                                "counted: 1 test of %d (the genuine half of the fifth), down %.1f Mbit/s",
                                CheatingProbe.CHEATS,
                                score.downMbps().orElse(Double.NaN)),
                        honestLine);
            }
        }
    }

    @Test
    void aBoardStoppedForPartOfTheEpochIsCreditedOnlyTheTimeItRan() throws Exception {
        // The verifier's epoch starts as the boards start, so that uptime % is a share of the time they could run.
        ShiftedClock clock = new ShiftedClock().alignedTo(EPOCH, Duration.ZERO);
        ServiceSettings proofs = ServiceSettings.defaults().withEpoch(EPOCH);
        Duration span = Duration.ofSeconds(3);
        try (World w = new World("stopped", clock, proofs)) {
            AgentNode honest = w.board("honest", 1, Clock.systemUTC(), AgentWiring.ProofSettings.OFF, p -> p);
            AgentNode stopped = w.board("stopped", 2, Clock.systemUTC(), AgentWiring.ProofSettings.OFF, p -> p);
            honest.start();
            stopped.start();
            await("both boards reporting").atMost(WAIT).until(() -> w.arrivals(honest) > 0 && w.arrivals(stopped) > 0);
            long started = w.firstArrival(stopped, Long.MIN_VALUE);
            passes(clock, span);
            stopped.stopReporting();
            await("the stopped board's reports delivered")
                    .atMost(WAIT)
                    .until(() -> stopped.stats().pending() == 0);
            long stoppedAt = clock.millis();
            long firstRunMade = stopped.stats().made();
            stopped.close();
            w.forget(stopped);
            passes(clock, span);
            AgentNode restarted = w.board("stopped", 2, Clock.systemUTC(), AgentWiring.ProofSettings.OFF, p -> p);
            restarted.start();
            await("the restarted board reporting").atMost(WAIT).until(() -> w.firstArrival(restarted, stoppedAt) > 0);
            long restartedAt = w.firstArrival(restarted, stoppedAt);
            passes(clock, span);
            long end = clock.millis();
            w.settle();

            ProofOfService.DeviceScore h = w.score(honest);
            ProofOfService.DeviceScore s = w.score(restarted);
            long now = clock.millis();
            long elapsed = now - Math.floorDiv(now, EPOCH.toMillis()) * EPOCH.toMillis();
            double honestShare = 100.0 * (end - w.firstArrival(honest, Long.MIN_VALUE)) / elapsed;
            double runningShare = 100.0 * ((stoppedAt - started) + (end - restartedAt)) / elapsed;
            assertEquals(honestShare, h.uptimePct(), 10, "the honest board: up all the time it ran");
            assertEquals(runningShare, s.uptimePct(), 10, "the stopped board: about the time it ran");
            assertTrue(
                    s.uptimePct() < h.uptimePct() - 15,
                    "the stopped board below the honest: " + s.uptimePct() + " vs " + h.uptimePct());
            assertEquals(0, w.rejections(restarted).size());
            assertEquals(
                    firstRunMade + restarted.stats().made(),
                    w.arrivals(restarted),
                    "every report of both runs accepted");
            String honestLine = w.honest(honest);
            report(
                    "stopped board",
                    String.format(
                            Locale.ROOT,
                            "ran %.1f s, stopped %.1f s, ran again %.1f s (a new run) in the first %.1f s of an epoch",
                            (stoppedAt - started) / 1000.0,
                            (restartedAt - stoppedAt) / 1000.0,
                            (end - restartedAt) / 1000.0,
                            elapsed / 1000.0),
                    "no credit for the stop (a new run): nothing refused, the reports all accepted",
                    String.format(
                            Locale.ROOT,
                            "uptime %.1f%% (its running share %.1f%%) vs the honest board's %.1f%% (%.1f%%)",
                            s.uptimePct(),
                            runningShare,
                            h.uptimePct(),
                            honestShare),
                    honestLine);
        }
    }

    @Test
    void aBoardWhoseClockJumpsForwardGainsNoUptime() throws Exception {
        // 30 s into the epoch: a credit beyond the verifier's elapsed time would show, well below 100%.
        ShiftedClock clock = new ShiftedClock().alignedTo(EPOCH, Duration.ofSeconds(30));
        ServiceSettings proofs = ServiceSettings.defaults().withEpoch(EPOCH);
        Duration jump = Duration.ofMinutes(3);
        try (World w = new World("jump", clock, proofs)) {
            ShiftedClock boardClock = new ShiftedClock();
            AgentNode honest = w.board("honest", 1, Clock.systemUTC(), AgentWiring.ProofSettings.OFF, p -> p);
            AgentNode jumper = w.board("jumper", 2, boardClock, AgentWiring.ProofSettings.OFF, p -> p);
            honest.start();
            jumper.start();
            await("both boards reporting").atMost(WAIT).until(() -> w.arrivals(honest) > 0 && w.arrivals(jumper) > 0);
            passes(clock, Duration.ofSeconds(3));
            // Its wall clock, and with it what the emulated board shows as its monotonic uptime, jumps.
            boardClock.advance(jump);
            long madeBefore = jumper.stats().made();
            passes(clock, Duration.ofSeconds(4));
            long end = clock.millis();
            w.settle();

            long madeAfter = jumper.stats().made() - madeBefore;
            assertTrue(madeAfter > 5, "reports after the jump: " + madeAfter);
            assertEquals(0, w.rejections(jumper).size(), "within the skew window its reports are accepted");
            assertEquals(jumper.stats().made(), w.arrivals(jumper), "every report accepted");
            ProofOfService.DeviceScore h = w.score(honest);
            ProofOfService.DeviceScore j = w.score(jumper);
            long now = clock.millis();
            long elapsed = now - Math.floorDiv(now, EPOCH.toMillis()) * EPOCH.toMillis();
            double ranShare = 100.0 * (end - w.firstArrival(jumper, Long.MIN_VALUE)) / elapsed;
            assertTrue(j.uptimePct() <= ranShare + 1, "no more than the verifier's time: " + j.uptimePct());
            assertEquals(h.uptimePct(), j.uptimePct(), 5, "as much as the honest board, no more");
            String honestLine = w.honest(honest);
            report(
                    "clock jump",
                    String.format(
                            Locale.ROOT,
                            "wall clock (and the emulated uptime) +%d min after %.1f s, within the %d min skew window",
                            jump.toMinutes(),
                            3.0,
                            Limits.CLOCK_SKEW_WINDOW.toMinutes()),
                    String.format(
                            Locale.ROOT,
                            "nothing: %d/%d reports accepted, %d of them after the jump; the jump was not credited",
                            w.arrivals(jumper),
                            jumper.stats().made(),
                            madeAfter),
                    String.format(
                            Locale.ROOT,
                            "no gain: uptime %.1f%% (verifier's time since its first report %.1f%%) vs the honest"
                                    + " board's %.1f%%; %d s of the jump not credited",
                            j.uptimePct(),
                            ranShare,
                            h.uptimePct(),
                            jump.toSeconds()),
                    honestLine);
        }
    }

    // ------------------------------------------------------------------ the cheating parts

    /**
     * Keeps only its seed and its root: for each audit it regenerates the whole plot from the seed
     * (the true leaves, attest's {@link Plot#label}, and the Merkle tree over them) and answers
     * correctly. On a real plot that takes longer than the deadline; {@code regenerating} moves the
     * verifier's clock by that time.
     */
    static final class SeedOnlyPlot implements PlotStore {
        private final byte[] id;
        private final PlotParams params;
        private final PlotCommitment commitment;
        private final Runnable regenerating;
        final AtomicInteger answers = new AtomicInteger();
        final AtomicLong regenerationNanos = new AtomicLong();

        SeedOnlyPlot(DeviceId device, long bytes, Runnable regenerating) {
            byte[] seed = new byte[PlotParams.SEED_BYTES];
            new SecureRandom().nextBytes(seed);
            this.params = PlotParams.fitting(seed, bytes, Plot.DEFAULT_LEAF_SIZE);
            this.id = Plot.id(device, params);
            this.regenerating = regenerating;
            byte[][][] levels = regenerate().levels; // plotted once for the root; the leaves are not kept
            this.commitment = new PlotCommitment(params, levels[levels.length - 1][0]);
        }

        /** The leaves and every level of their Merkle tree (level 0: the leaf hashes). */
        private static final class Regenerated {
            final byte[][] leaves;
            final byte[][][] levels;

            Regenerated(byte[][] leaves, byte[][][] levels) {
                this.leaves = leaves;
                this.levels = levels;
            }
        }

        private Regenerated regenerate() {
            int n = Math.toIntExact(params.leaves());
            byte[][] leaves = new byte[n][params.leafSize()];
            MessageDigest md = Sha256.newDigest();
            int depth = Plot.depth(n);
            byte[][][] levels = new byte[depth + 1][][];
            levels[0] = new byte[n][];
            for (int i = 0; i < n; i++) {
                byte[] previous = i > 0 ? leaves[i - 1] : null;
                byte[] parent = i > 0 ? leaves[Math.toIntExact(Plot.parent(id, i))] : null;
                Plot.label(id, i, previous, parent, leaves[i], md);
                levels[0][i] = Plot.leafHash(leaves[i]);
            }
            for (int l = 1; l <= depth; l++) {
                levels[l] = new byte[n >> l][];
                for (int j = 0; j < levels[l].length; j++) {
                    levels[l][j] = Plot.node(levels[l - 1][2 * j], levels[l - 1][2 * j + 1]);
                }
            }
            return new Regenerated(leaves, levels);
        }

        @Override
        public Optional<PlotCommitment> commitment() {
            return Optional.of(commitment);
        }

        @Override
        public AuditAnswer answer(byte[] nonce, int k) {
            long start = System.nanoTime();
            Regenerated r = regenerate();
            regenerationNanos.set(System.nanoTime() - start);
            regenerating.run();
            answers.incrementAndGet();
            List<AuditAnswer.Opening> openings = new ArrayList<>();
            for (long i : Audit.openings(id, Audit.indices(nonce, commitment, k))) {
                List<byte[]> path = new ArrayList<>();
                for (int l = 0; l < r.levels.length - 1; l++) {
                    path.add(r.levels[l][Math.toIntExact((i >> l) ^ 1)]);
                }
                openings.add(new AuditAnswer.Opening(r.leaves[Math.toIntExact(i)], path));
            }
            return AuditAnswer.of(openings);
        }

        @Override
        public Progress progress() {
            return new Progress(State.DONE, params.bytes(), params.bytes(), 0, Duration.ZERO, "regenerated on demand");
        }
    }

    /** A real plot whose first audit answer is held back past the deadline ({@code late} moves the verifier's clock). */
    static final class LateOnce implements PlotStore {
        private final PlotStore plot;
        private final Runnable late;
        private final AtomicBoolean first = new AtomicBoolean(true);

        LateOnce(PlotStore plot, Runnable late) {
            this.plot = plot;
            this.late = late;
        }

        @Override
        public Optional<PlotCommitment> commitment() {
            return plot.commitment();
        }

        @Override
        public AuditAnswer answer(byte[] nonce, int k) throws IOException {
            AuditAnswer a = plot.answer(nonce, k);
            if (first.getAndSet(false)) {
                late.run();
            }
            return a;
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
     * A board's probe that cheats, one cheat per test: (1) receipts forged with a key of its own under
     * the verifier endpoint's kid, and a genuine one edited after signing; (2) genuine receipts
     * obtained for another device; (3) the genuine receipts of test 1 (an earlier challenge), held
     * back then; (4) genuine receipts of an endpoint the verifier does not trust; (5) genuine
     * receipts, each sent twice. Later tests give no receipt.
     */
    static final class CheatingProbe implements BandwidthProbe {
        static final int CHEATS = 5;
        private final HttpBandwidthProbe own;
        private final HttpBandwidthProbe elsewhere;
        private final DeviceId ownKid;
        private final DeviceKeys rogue = DeviceKeys.generate();
        private final DeviceId other = DeviceKeys.generate().deviceId();
        private final AtomicInteger tests = new AtomicInteger();
        private volatile List<byte[]> heldBack = List.of();
        final List<String> tried = new CopyOnWriteArrayList<>();
        final AtomicInteger cheating = new AtomicInteger();

        CheatingProbe(MeasureEndpoint own, MeasureEndpoint untrusted) {
            this.own = new HttpBandwidthProbe(List.of(URI.create(own.url())), MEASURE_BYTES, Duration.ofSeconds(30));
            this.elsewhere =
                    new HttpBandwidthProbe(List.of(URI.create(untrusted.url())), MEASURE_BYTES, Duration.ofSeconds(30));
            this.ownKid = own.keyId();
        }

        @Override
        public List<byte[]> measure(DeviceId device, byte[] nonce) throws InterruptedException {
            List<byte[]> out = new ArrayList<>();
            switch (tests.incrementAndGet()) {
                case 1 -> {
                    heldBack = own.measure(device, nonce);
                    for (var d : List.of(BandwidthReceipt.Direction.DOWN, BandwidthReceipt.Direction.UP)) {
                        var claim =
                                new BandwidthReceipt(device, nonce, d, 1L << 30, Duration.ofMillis(10), Instant.now());
                        out.add(CoseSign1.sign(ownKid.kid(), claim.encode(), rogue));
                    }
                    out.add(edited(heldBack.stream()
                            .filter(r -> direction(r) == BandwidthReceipt.Direction.DOWN)
                            .findFirst()
                            .orElseThrow()));
                    tried.add("2 receipts signed by a key of its own under the trusted endpoint's kid (1 GiB in 10 ms),"
                            + " 1 genuine receipt with its duration cut 100-fold after signing");
                }
                case 2 -> {
                    out.addAll(own.measure(other, nonce));
                    tried.add(out.size() + " genuine receipts obtained for another device");
                }
                case 3 -> {
                    out.addAll(heldBack);
                    tried.add(out.size() + " genuine receipts of an earlier challenge (test 1's, held back then)");
                }
                case 4 -> {
                    out.addAll(elsewhere.measure(device, nonce));
                    tried.add(out.size() + " genuine receipts of an endpoint the verifier does not trust");
                }
                case 5 -> {
                    List<byte[]> genuine = own.measure(device, nonce);
                    out.addAll(genuine);
                    out.addAll(genuine);
                    tried.add(genuine.size() + " genuine receipts, each sent twice");
                    cheating.addAndGet(genuine.size());
                    return out;
                }
                default -> {
                    return out;
                }
            }
            cheating.addAndGet(out.size());
            return out;
        }

        private static BandwidthReceipt.Direction direction(byte[] signed) {
            try {
                return BandwidthReceipt.open(signed).receipt().direction();
            } catch (MalformedReportException e) {
                throw new AssertionError(e);
            }
        }

        /** {@code signed} with its duration cut 100-fold and its original signature. */
        private byte[] edited(byte[] signed) {
            try {
                BandwidthReceipt r = BandwidthReceipt.open(signed).receipt();
                BandwidthReceipt faster = new BandwidthReceipt(
                        r.device(),
                        r.nonce(),
                        r.direction(),
                        r.bytes(),
                        Duration.ofNanos(Math.max(1000, r.duration().toNanos() / 100)),
                        r.at());
                byte[] out = CoseSign1.sign(ownKid.kid(), faster.encode(), rogue);
                byte[] signature = CoseSign1.decode(signed).signature();
                System.arraycopy(signature, 0, out, out.length - signature.length, signature.length);
                return out;
            } catch (MalformedReportException e) {
                throw new AssertionError(e);
            }
        }
    }

    // ------------------------------------------------------------------ the world

    /** The system clock shifted by an offset that only moves forward after {@link #alignedTo}. */
    static final class ShiftedClock extends Clock {
        private final AtomicLong offset = new AtomicLong();

        void advance(Duration d) {
            offset.addAndGet(d.toMillis());
        }

        /** Shifted by at most half a period so that now lies {@code into} past a multiple of {@code period}. */
        ShiftedClock alignedTo(Duration period, Duration into) {
            long p = period.toMillis();
            long now = millis();
            long at = Math.floorDiv(now - into.toMillis(), p) * p + into.toMillis();
            if (now - at > p / 2) {
                at += p;
            }
            offset.addAndGet(at - now);
            return this;
        }

        @Override
        public long millis() {
            return System.currentTimeMillis() + offset.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    /**
     * A broker, a verifier on {@code clock} with proofs of service on, a watcher of its receipts,
     * and the boards of one test; closed together.
     */
    private final class World implements AutoCloseable {
        final String name;
        final VerifierWiring.Verifier verifier;
        private final Mosquitto broker;
        private final ReceiptWatcher receipts;
        private final Path verifierKey;
        /** Arrival (verifier clock) of each accepted report, not counting duplicates, per device. */
        private final Map<String, List<Long>> accepted = new ConcurrentHashMap<>();

        private final Map<String, List<String>> rejected = new ConcurrentHashMap<>();
        private final List<AgentNode> boards = new CopyOnWriteArrayList<>();
        private final Deque<AutoCloseable> opened = new ArrayDeque<>();

        World(String name, ShiftedClock clock, ServiceSettings proofs) {
            this.name = name;
            this.broker = Mosquitto.start(dir.resolve(name + "-mosquitto"));
            opened.push(broker);
            try {
                this.verifier = VerifierWiring.open(
                        VerifierWiring.Settings.inMemory(BrokerUrl.parse(broker.url()), FLEET)
                                .withAllowEmulated(true)
                                .withProofs(proofs),
                        m -> m,
                        clock);
                opened.push(verifier);
                verifier.service().observe((device, outcome) -> {
                    if (outcome instanceof Appraisal.Accepted a) {
                        if (!a.duplicate()) {
                            accepted.computeIfAbsent(device, k -> new CopyOnWriteArrayList<>())
                                    .add(clock.millis());
                        }
                    } else if (outcome instanceof Appraisal.Rejected r) {
                        rejected.computeIfAbsent(device, k -> new CopyOnWriteArrayList<>())
                                .add(r.reason().code() + ": " + r.detail());
                    }
                });
                verifier.service().connect();
                this.receipts = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                opened.push(receipts);
                this.verifierKey = dir.resolve(name + "-verifier.pub");
                LocalStack.writePublicKeyPem(verifierKey, verifier.receiptPublicKey());
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        Path dataDir(String board) {
            return dir.resolve(name + "-" + board);
        }

        /** An emulated board of this world, reporting every {@link #INTERVAL} once started. */
        AgentNode board(
                String board,
                long seed,
                Clock boardClock,
                AgentWiring.ProofSettings proofs,
                UnaryOperator<AgentNode.Parts> customize) {
            var settings = new AgentWiring.RunSettings(
                            BrokerUrl.parse(broker.url()),
                            FLEET,
                            dataDir(board),
                            BoardSelection.EMULATED,
                            INTERVAL,
                            AgentWiring.DEFAULT_OUTBOX_BYTES,
                            seed,
                            Set.of())
                    .withVerifierKeys(List.of(verifierKey))
                    .withReceiptTimeout(Duration.ofSeconds(2))
                    .withProofs(proofs);
            AgentNode node = AgentWiring.agent(settings, boardClock, customize);
            boards.add(node);
            return node;
        }

        /** Leaves out a board closed by the test. */
        void forget(AgentNode board) {
            boards.remove(board);
        }

        /** The receipts of {@code board}'s reports, in seq order. */
        List<Receipt> receiptsOf(AgentNode board) {
            return receipts.receipts().stream()
                    .filter(r -> r.device().map(DeviceId::value).orElse("").equals(board.device()))
                    .sorted(Comparator.comparingLong(r -> r.seq().orElse(-1)))
                    .toList();
        }

        /** The {@code pos} sentences of {@code board}'s receipts that contain {@code part}, in seq order. */
        List<String> sentences(AgentNode board, String part) {
            return receiptsOf(board).stream()
                    .flatMap(r -> r.service().stream())
                    .filter(s -> s.contains(part))
                    .toList();
        }

        ProofOfService.DeviceScore score(AgentNode board) {
            ProofOfService.DeviceScore s = verifier.service().scores().get(board.device());
            assertTrue(s != null, "the verifier scores " + board.device());
            return s;
        }

        long audits(AgentNode board, AuditOutcome outcome) {
            ProofOfService.DeviceScore s = verifier.service().scores().get(board.device());
            return s == null ? 0 : s.audits().get(outcome);
        }

        /** Accepted reports of {@code board}'s device (duplicates not counted). */
        long arrivals(AgentNode board) {
            return accepted.getOrDefault(board.device(), List.of()).size();
        }

        /** The first arrival of an accepted report of {@code board} after {@code after}; 0 if none. */
        long firstArrival(AgentNode board, long after) {
            return accepted.getOrDefault(board.device(), List.of()).stream()
                    .filter(t -> t > after)
                    .findFirst()
                    .orElse(0L);
        }

        List<String> rejections(AgentNode board) {
            return rejected.getOrDefault(board.device(), List.of());
        }

        /** Stops the boards' reports and waits until each report made has its receipt. */
        void settle() {
            boards.forEach(AgentNode::stopReporting);
            await(name + ": every report delivered")
                    .atMost(WAIT)
                    .until(() -> boards.stream().allMatch(b -> b.stats().pending() == 0));
            // The watcher has its own connection: a receipt can reach the board before it. The
            // verifier appraises on several workers, so the last receipts often do.
            await(name + ": every receipt seen by the watcher")
                    .atMost(WAIT)
                    .until(() -> boards.stream()
                            .allMatch(b -> receiptsOf(b).stream()
                                            .map(r -> r.seq().orElse(-1))
                                            .distinct()
                                            .count()
                                    >= b.stats().delivered()));
        }

        /**
         * Checks the honest board: every report accepted once and none refused, no audit but a
         * success, no bandwidth receipt refused, not disqualified. Its summary.
         */
        String honest(AgentNode board) {
            NodeStats s = board.stats();
            assertEquals(List.of(), rejections(board), "no report of the honest board refused");
            assertEquals(0, s.rejected());
            assertEquals(s.made(), arrivals(board), "every report of the honest board accepted once");
            ProofOfService.DeviceScore score = score(board);
            assertTrue(score.disqualified().isEmpty(), "the honest board is not disqualified");
            for (AuditOutcome o : List.of(FAILURE, CONTAINED, OFFLINE, UNKNOWN)) {
                assertEquals(0L, score.audits().get(o), "honest audits " + o + ": " + score.audits());
            }
            for (String sentence : sentences(board, "")) {
                assertFalse(
                        sentence.contains("refused")
                                || sentence.contains("not counted")
                                || sentence.contains("late")
                                || sentence.contains("failed"),
                        sentence);
            }
            return String.format(
                    Locale.ROOT,
                    "honest board: %d/%d reports accepted, %d audit(s) passed, %d bandwidth test(s) counted,"
                            + " reputation %.3f, not disqualified",
                    arrivals(board),
                    s.made(),
                    score.audits().get(SUCCESS),
                    score.bandwidthSamples(),
                    score.reputation());
        }

        @Override
        public void close() {
            boards.forEach(AgentNode::close);
            while (!opened.isEmpty()) {
                try {
                    opened.pop().close();
                } catch (Exception e) {
                    // closing the rest regardless
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Waits until the board's plot (its own PlotFile) is done; its commitment. */
    private static PlotCommitment plotted(AgentNode board) {
        await("the plot of " + board.device())
                .atMost(WAIT)
                .until(() -> board.plot().commitment().isPresent());
        return board.plot().commitment().orElseThrow();
    }

    /** A real plot in {@code where}, plotted before it is returned. */
    private static PlotFile plottedFile(DeviceId device, Path where) {
        try {
            Files.createDirectories(where);
            PlotFile f =
                    PlotFile.open(where, device, PlotFile.Settings.of(PLOT, 0, 0), PlotFile.Environment.real(where));
            f.plot();
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Lets {@code span} of the verifier's time pass while the boards run (the scenario's length, not a synchronisation). */
    private static void passes(ShiftedClock clock, Duration span) {
        long until = clock.millis() + span.toMillis();
        await().pollInterval(Duration.ofMillis(50)).atMost(span.plus(WAIT)).until(() -> clock.millis() >= until);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void report(String cheat, String tried, String refused, String lost, String honest) {
        System.out.printf("%s: tried: %s; refused: %s; lost: %s; %s%n", cheat, tried, refused, lost, honest);
    }
}
