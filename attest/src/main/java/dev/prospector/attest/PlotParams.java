package dev.prospector.attest;

/**
 * The shape of a plot: its seed (16 random bytes the board picks), the number of leaves (a power
 * of two) and the size of a leaf (a multiple of 32 bytes, {@value Plot#MIN_LEAF_SIZE} to
 * {@value Plot#MAX_LEAF_SIZE}).
 */
public record PlotParams(byte[] seed, long leaves, int leafSize) {
    public static final int SEED_BYTES = 16;

    public PlotParams {
        if (seed.length != SEED_BYTES) {
            throw new IllegalArgumentException("a plot seed has " + SEED_BYTES + " bytes");
        }
        if (leaves < 2 || Long.bitCount(leaves) != 1 || Plot.depth(leaves) > Plot.MAX_DEPTH) {
            throw new IllegalArgumentException("a plot has a power of two leaves, 2 to 2^" + Plot.MAX_DEPTH);
        }
        if (leafSize < Plot.MIN_LEAF_SIZE || leafSize > Plot.MAX_LEAF_SIZE || leafSize % Plot.CHUNK != 0) {
            throw new IllegalArgumentException("a leaf has " + Plot.MIN_LEAF_SIZE + " to " + Plot.MAX_LEAF_SIZE
                    + " bytes, a multiple of " + Plot.CHUNK);
        }
        seed = seed.clone();
    }

    /** The largest plot of {@code leafSize} leaves that fits {@code bytes}: a power of two leaves. */
    public static PlotParams fitting(byte[] seed, long bytes, int leafSize) {
        long n = Long.highestOneBit(Math.max(2, bytes / leafSize));
        return new PlotParams(seed, n, leafSize);
    }

    /** Bytes of leaves. */
    public long bytes() {
        return leaves * leafSize;
    }

    @Override
    public byte[] seed() {
        return seed.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PlotParams p
                && java.util.Arrays.equals(seed, p.seed)
                && leaves == p.leaves
                && leafSize == p.leafSize;
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(seed) * 31 + Long.hashCode(leaves) * 17 + leafSize;
    }

    @Override
    public String toString() {
        return "PlotParams[" + leaves + " leaves of " + leafSize + " bytes, seed "
                + java.util.HexFormat.of().formatHex(seed) + "]";
    }
}
