package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProofOfServiceTest {
    private static final DeviceKeys BOARD = DeviceKeys.fromSeed(new byte[32]);
    private static final PlotParams PARAMS = new PlotParams(new byte[16], 256, 64);

    /** An honest plot in memory, and the tree's levels to open paths from. */
    static final class MemoryPlot {
        final byte[][] leaves;
        final List<byte[][]> levels = new ArrayList<>();
        final PlotCommitment commitment;
        final byte[] id;

        MemoryPlot(DeviceId device, PlotParams p) {
            this(device, p, null);
        }

        /** A plot of {@code given} leaves, or of the plot function's leaves when null. */
        MemoryPlot(DeviceId device, PlotParams p, byte[][] given) {
            id = Plot.id(device, p);
            leaves = new byte[(int) p.leaves()][];
            for (int i = 0; i < leaves.length; i++) {
                leaves[i] = given != null
                        ? given[i]
                        : Plot.label(
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

    @Test
    void anHonestPlotPassesItsAuditAndTheRootMatchesTheListRoot() {
        var plot = new MemoryPlot(BOARD.deviceId(), PARAMS);
        var hashes = new ArrayList<byte[]>();
        for (byte[] leaf : plot.leaves) {
            hashes.add(Plot.leafHash(leaf));
        }
        assertArrayEquals(Plot.root(hashes), plot.commitment.root());
        byte[] nonce = {1, 2, 3};
        var check = Audit.check(BOARD.deviceId(), plot.commitment, nonce, 8, plot.answer(nonce, 8));
        assertEquals(new Audit.Check.Passed(8), check);
    }

    @Test
    void aDamagedLeafFailsTheAuditThatOpensIt() {
        var plot = new MemoryPlot(BOARD.deviceId(), PARAMS);
        byte[] nonce = {9};
        long audited = Audit.indices(nonce, plot.commitment, 8)[0];
        plot.leaves[(int) audited][5] ^= 1;
        var check = Audit.check(BOARD.deviceId(), plot.commitment, nonce, 8, plot.answer(nonce, 8));
        var failed = assertInstanceOf(Audit.Check.Failed.class, check);
        assertTrue(failed.why().contains("leaf " + audited), failed.why());
    }

    @Test
    void aTreeOverLeavesThatDoNotFollowFromTheSeedFailsEvenWithValidPaths() {
        // A cheater commits a tree over zeros (nothing to store): every path verifies, no leaf does.
        var zeros = new byte[(int) PARAMS.leaves()][];
        for (int i = 0; i < zeros.length; i++) {
            zeros[i] = new byte[PARAMS.leafSize()];
        }
        var cheat = new MemoryPlot(BOARD.deviceId(), PARAMS, zeros);
        var commitment = cheat.commitment;
        byte[] nonce = {4, 4};
        var openings = new ArrayList<AuditAnswer.Opening>();
        for (long i : Audit.openings(cheat.id, Audit.indices(nonce, commitment, 8))) {
            openings.add(new AuditAnswer.Opening(cheat.leaves[(int) i], cheat.path(i)));
        }
        var check = Audit.check(BOARD.deviceId(), commitment, nonce, 8, AuditAnswer.of(openings));
        var failed = assertInstanceOf(Audit.Check.Failed.class, check);
        assertTrue(failed.why().contains("is not the plot's leaf"), failed.why());
    }

    @Test
    void anAnswerForAnotherNonceOrAnotherDeviceFails() {
        var plot = new MemoryPlot(BOARD.deviceId(), PARAMS);
        var answer = plot.answer(new byte[] {1}, 8);
        assertInstanceOf(
                Audit.Check.Failed.class, Audit.check(BOARD.deviceId(), plot.commitment, new byte[] {2}, 8, answer));
        var other = DeviceKeys.fromSeed(new byte[] {
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
        });
        assertInstanceOf(
                Audit.Check.Failed.class, Audit.check(other.deviceId(), plot.commitment, new byte[] {1}, 8, answer));
        assertEquals(
                new Audit.Check.BoardError("disk gone"),
                Audit.check(BOARD.deviceId(), plot.commitment, new byte[] {1}, 8, AuditAnswer.failed("disk gone")));
    }

    @Test
    void serviceEvidenceTravelsInAReportAndDecodesToTheSameClaims() throws Exception {
        var plot = new MemoryPlot(BOARD.deviceId(), PARAMS);
        var endpoint = DeviceKeys.fromSeed(new byte[] {
            2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2
        });
        byte[] nonce = {7, 7, 7};
        var bw = new BandwidthReceipt(
                        BOARD.deviceId(),
                        nonce,
                        BandwidthReceipt.Direction.DOWN,
                        1_000_000,
                        Duration.ofMillis(80),
                        Instant.ofEpochMilli(1_700_000_000_000L))
                .sign(endpoint);
        var evidence = ServiceEvidence.run(1234)
                .withPlot(plot.commitment)
                .withAudit(plot.answer(nonce, 8))
                .withBandwidth(List.of(bw));
        assertEquals(evidence, ServiceEvidence.decode(evidence.encode()));
        var input = new ReportInput(
                        "fleet",
                        Instant.ofEpochMilli(1_700_000_000_000L),
                        1,
                        Optional.of(nonce),
                        "boot",
                        Duration.ofSeconds(5),
                        List.of(),
                        "test",
                        new byte[32],
                        0,
                        true)
                .withService(Optional.of(evidence));
        var claims = Claims.decode(Fixtures.signer().sign(input).claims().encode());
        assertEquals(Optional.of(evidence), claims.service());
        var opened =
                BandwidthReceipt.open(claims.service().orElseThrow().bandwidth().get(0));
        assertTrue(opened.signedBy(endpoint.publicKey()));
        assertEquals(100.0, opened.receipt().mbps(), 1e-9);
        assertEquals(endpoint.deviceId(), opened.endpoint());
        assertTrue(!opened.signedBy(BOARD.publicKey()));
        assertEquals(OptionalLong.of(1234), claims.service().orElseThrow().runStart());
    }

    @Test
    void aReceiptCarriesAuditAndBandwidthDutiesAndTheServiceOutcome() throws Exception {
        var verifier = DeviceKeys.fromSeed(new byte[32]);
        var receipt = new Receipt(
                        true,
                        Optional.empty(),
                        "accepted",
                        Optional.of(BOARD.deviceId()),
                        OptionalLong.of(3),
                        false,
                        0,
                        false,
                        new byte[32],
                        Instant.ofEpochMilli(1000),
                        Duration.ofMinutes(5))
                .withChallenge(new Receipt.Challenge(new byte[] {1}, Duration.ofMinutes(10))
                        .withAudit(8, Duration.ofSeconds(5))
                        .withBandwidthTest())
                .withService(Optional.of("audit passed"), Optional.of("reputation 0.70 below 0.80"));
        var back = Receipt.verify(receipt.sign(verifier), verifier.publicKey());
        assertEquals(receipt, back);
        assertEquals(8, back.challenge().orElseThrow().auditLeaves());
        assertEquals(Duration.ofSeconds(5), back.challenge().orElseThrow().auditDeadline());
        assertTrue(back.challenge().orElseThrow().bandwidthTest());
        assertEquals(Optional.of("reputation 0.70 below 0.80"), back.disqualified());
    }

    @Test
    void malformedEvidenceIsRefusedWithAReason() {
        assertThrows(MalformedReportException.class, () -> ServiceEvidence.decode(new byte[] {(byte) 0xa0}));
        byte[] unknownKey = Cbor.encode(Cbor.map().put("zzz", new Cbor.Int(1)).build());
        var e = assertThrows(MalformedReportException.class, () -> ServiceEvidence.decode(unknownKey));
        assertTrue(e.getMessage().contains("unknown key"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new PlotParams(new byte[16], 3, 64));
        assertNotEquals(
                Plot.id(BOARD.deviceId(), PARAMS), Plot.id(BOARD.deviceId(), new PlotParams(new byte[16], 512, 64)));
    }
}
