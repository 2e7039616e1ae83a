package dev.prospector.attest;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * What a board commits to in its reports (claim {@code pos.plot}): the shape of its plot and the
 * Merkle root over its leaves. Encoded as {@code {"leaf": uint, "n": uint, "root": bstr(32),
 * "seed": bstr(16)}}.
 */
public record PlotCommitment(PlotParams params, byte[] root) {
    public PlotCommitment {
        if (root.length != Plot.CHUNK) {
            throw new IllegalArgumentException("a plot root has 32 bytes");
        }
        root = root.clone();
    }

    @Override
    public byte[] root() {
        return root.clone();
    }

    /** The plot id of this commitment for {@code device}. */
    public byte[] id(DeviceId device) {
        return Plot.id(device, params);
    }

    /** Bytes of plot this commitment stands for. */
    public long bytes() {
        return params.bytes();
    }

    Cbor.MapValue toCbor() {
        return Cbor.map()
                .put("leaf", new Cbor.Int(params.leafSize()))
                .put("n", new Cbor.Int(params.leaves()))
                .put("root", new Cbor.Bytes(root))
                .put("seed", new Cbor.Bytes(params.seed()))
                .build();
    }

    static PlotCommitment fromCbor(Cbor.Value v) throws MalformedReportException {
        var m = ServiceEvidence.map(v, "pos.plot", 4);
        try {
            return new PlotCommitment(
                    new PlotParams(
                            ServiceEvidence.bytes(m, "seed", PlotParams.SEED_BYTES, PlotParams.SEED_BYTES),
                            ServiceEvidence.uint(m, "n"),
                            Math.toIntExact(ServiceEvidence.uint(m, "leaf"))),
                    ServiceEvidence.bytes(m, "root", Plot.CHUNK, Plot.CHUNK));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new MalformedReportException("claim pos.plot: " + e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PlotCommitment c && params.equals(c.params) && Arrays.equals(root, c.root);
    }

    @Override
    public int hashCode() {
        return params.hashCode() * 31 + Arrays.hashCode(root);
    }

    @Override
    public String toString() {
        return "plot of " + params.bytes() + " bytes (" + params.leaves() + " leaves of " + params.leafSize()
                + " bytes), root " + HexFormat.of().formatHex(root, 0, 8);
    }
}
