package dev.prospector.agent.verifier;

import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Audit;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.Claims;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Measurement;
import dev.prospector.attest.MerkleBuilder;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import dev.prospector.attest.ServiceEvidence;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** Boards, plots, challenges and a clock the tests move, for the proof-of-service tests. */
final class PosFixtures {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** A whole hour: epoch boundaries of one hour fall on it. */
    static final long T0 = 1_700_002_800_000L;

    private PosFixtures() {}

    /** A clock the test moves. */
    static final class MovableClock extends Clock {
        final AtomicLong millis;

        MovableClock(long start) {
            this.millis = new AtomicLong(start);
        }

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }

        void set(long ms) {
            millis.set(ms);
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    /** A challenge as the verifier's ChallengeStore makes it: issued-at (ms, big-endian), then a tag. */
    static byte[] nonce(long issuedAtMs) {
        byte[] n = new byte[24];
        RANDOM.nextBytes(n);
        ByteBuffer.wrap(n).putLong(issuedAtMs);
        return n;
    }

    /** An honest plot in memory (as attest's ProofOfServiceTest builds one). */
    static final class MemoryPlot {
        final byte[][] leaves;
        final List<byte[][]> levels = new ArrayList<>();
        final PlotCommitment commitment;
        final byte[] id;

        MemoryPlot(DeviceKeys device, PlotParams p) {
            id = Plot.id(device.deviceId(), p);
            leaves = new byte[(int) p.leaves()][];
            for (int i = 0; i < leaves.length; i++) {
                leaves[i] = Plot.label(
                        id,
                        i,
                        i > 0 ? leaves[i - 1] : null,
                        i > 0 ? leaves[(int) Plot.parent(id, i)] : null,
                        p.leafSize());
            }
            var b = new MerkleBuilder(p.leaves(), (level, index, hash) -> {
                while (levels.size() <= level) {
                    levels.add(new byte[(int) (p.leaves() >> levels.size())][]);
                }
                levels.get(level)[(int) index] = hash;
            });
            for (byte[] leaf : leaves) {
                b.add(Plot.leafHash(leaf));
            }
            commitment = new PlotCommitment(p, b.root());
        }

        List<byte[]> path(long index) {
            var out = new ArrayList<byte[]>();
            for (int level = 0; level < levels.size() - 1; level++) {
                out.add(levels.get(level)[(int) ((index >> level) ^ 1)]);
            }
            return out;
        }

        AuditAnswer answer(byte[] nonce, int k) {
            var openings = new ArrayList<AuditAnswer.Opening>();
            for (long i : Audit.openings(id, Audit.indices(nonce, commitment, k))) {
                openings.add(new AuditAnswer.Opening(leaves[(int) i], path(i)));
            }
            return AuditAnswer.of(openings);
        }
    }

    /** A board: its key, chain position, boot and run, monotonic clock, plot. */
    static final class Board {
        final DeviceKeys keys = DeviceKeys.generate();
        final MemoryPlot plot;
        long seq;
        String boot = "boot-1";
        long run = 1_000;
        long upMs = 60_000;
        long iatOffsetMs;
        List<Measurement> measurements = List.of();
        /** The commitment reports claim, when not the plot's own (a cheat). */
        PlotCommitment claimed;

        Board(boolean plotted) {
            plot = plotted ? new MemoryPlot(keys, new PlotParams(new byte[16], 256, 64)) : null;
        }

        /** An accepted report made now ({@code nowMs}) carrying {@code nonce} and {@code evidence}. */
        Appraisal.Accepted report(long nowMs, Optional<byte[]> nonce, Optional<ServiceEvidence> extra) {
            seq++;
            ServiceEvidence ev = ServiceEvidence.run(run);
            if (plot != null) {
                ev = ev.withPlot(claimed != null ? claimed : plot.commitment);
            }
            if (extra.isPresent()) {
                if (extra.get().audit().isPresent()) {
                    ev = ev.withAudit(extra.get().audit().get());
                }
                if (!extra.get().bandwidth().isEmpty()) {
                    ev = ev.withBandwidth(extra.get().bandwidth());
                }
            }
            Claims c = new Claims(
                    keys.deviceId(),
                    keys.publicKey(),
                    "fleet",
                    seq,
                    seq == 1 ? Optional.empty() : Optional.of(new byte[32]),
                    new byte[16],
                    Instant.ofEpochMilli(nowMs + iatOffsetMs),
                    0,
                    nonce,
                    boot,
                    Duration.ofMillis(upMs),
                    measurements,
                    "test",
                    new byte[32],
                    seq == 1 ? Optional.of("first") : Optional.empty(),
                    List.of(),
                    0,
                    false,
                    Optional.of(ev));
            return new Appraisal.Accepted(keys.deviceId(), seq, c, false, 0, seq == 1, new byte[32]);
        }

        Appraisal.Accepted report(long nowMs) {
            return report(nowMs, Optional.empty(), Optional.empty());
        }

        /** A report answering the audit of {@code nonce} honestly. */
        Appraisal.Accepted answer(long nowMs, byte[] nonce, int k) {
            return report(
                    nowMs,
                    Optional.of(nonce),
                    Optional.of(ServiceEvidence.run(run).withAudit(plot.answer(nonce, k))));
        }

        Appraisal.Accepted answer(long nowMs, byte[] nonce, AuditAnswer a) {
            return report(
                    nowMs,
                    Optional.of(nonce),
                    Optional.of(ServiceEvidence.run(run).withAudit(a)));
        }

        Appraisal.Accepted bandwidth(long nowMs, byte[] nonce, List<byte[]> receipts) {
            return report(
                    nowMs,
                    Optional.of(nonce),
                    Optional.of(ServiceEvidence.run(run).withBandwidth(receipts)));
        }
    }

    /** A receipt of {@code endpoint} for {@code board}: {@code mbps} (or rtt ms for RTT). */
    static byte[] receipt(
            DeviceKeys endpoint, DeviceKeys board, byte[] nonce, BandwidthReceipt.Direction dir, double figure) {
        long bytes = dir == BandwidthReceipt.Direction.RTT ? 0 : 1_000_000;
        Duration d = dir == BandwidthReceipt.Direction.RTT
                ? Duration.ofNanos((long) (figure * 1e6))
                : Duration.ofNanos((long) (bytes * 8 / figure * 1000));
        return new BandwidthReceipt(board.deviceId(), nonce, dir, bytes, d, Instant.ofEpochMilli(T0)).sign(endpoint);
    }
}
