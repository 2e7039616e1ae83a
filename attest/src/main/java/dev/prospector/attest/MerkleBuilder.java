package dev.prospector.attest;

/**
 * Builds the Merkle root of a plot from its leaf hashes in one pass, holding one pending node per
 * level (at most {@value Plot#MAX_DEPTH}). A listener sees every node as it completes, so the board
 * can keep the levels it wants on disk (to answer audits without rereading whole subtrees).
 */
public final class MerkleBuilder {
    /** Told of each completed node: its level (0 = leaf hashes) and index on that level. */
    @FunctionalInterface
    public interface NodeListener {
        void node(int level, long index, byte[] hash);
    }

    private final long leaves;
    private final int depth;
    private final byte[][] pending;
    private final NodeListener listener;
    private long added;
    private byte[] root;

    public MerkleBuilder(long leaves) {
        this(leaves, (level, index, hash) -> {});
    }

    public MerkleBuilder(long leaves, NodeListener listener) {
        if (leaves < 1 || Long.bitCount(leaves) != 1 || Plot.depth(leaves) > Plot.MAX_DEPTH) {
            throw new IllegalArgumentException("a plot has a power of two leaves, at most 2^" + Plot.MAX_DEPTH);
        }
        this.leaves = leaves;
        this.depth = Plot.depth(leaves);
        this.pending = new byte[depth + 1][];
        this.listener = listener;
    }

    /** Adds the next leaf's hash. */
    public void add(byte[] leafHash) {
        if (added == leaves) {
            throw new IllegalStateException("all " + leaves + " leaves were added");
        }
        long index = added++;
        byte[] h = leafHash;
        int level = 0;
        listener.node(0, index, h);
        while (level < depth && (index & 1) == 1) {
            h = Plot.node(pending[level], h);
            pending[level] = null;
            level++;
            index >>>= 1;
            listener.node(level, index, h);
        }
        if (level == depth) {
            root = h;
        } else {
            pending[level] = h;
        }
    }

    /** Leaves added so far. */
    public long added() {
        return added;
    }

    /** The root, once every leaf was added. */
    public byte[] root() {
        if (root == null) {
            throw new IllegalStateException(added + " of " + leaves + " leaves added");
        }
        return root.clone();
    }
}
