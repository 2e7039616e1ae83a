package dev.prospector.attest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * The plot function: what every leaf of a board's committed plot must be, and the Merkle tree
 * over the leaves. Shared by the board (which writes the plot once) and the verifier (which checks
 * audited leaves against their parents).
 *
 * <h2>Design notes</h2>
 * A plot is {@code n} leaves of {@code leafSize} bytes (a power of two leaves; 1 KiB leaves by
 * default). Leaf {@code i} is a function of the <em>whole</em> of two earlier leaves: its
 * predecessor {@code i - 1} and a pseudo-random parent {@code p(i) < i} fixed by the plot id (a
 * data-independent graph, as in Balloon hashing and Filecoin's stacked labelling):
 *
 * <pre>
 *   h = SHA-256(id || i || k || chunk[k] of leaf i-1 || chunk[m-1-k] of leaf p(i) || before)
 *   chunk[k] of leaf i = SHA-256^ROUNDS(h)        (h hashed again ROUNDS times)
 * </pre>
 *
 * with {@code m = leafSize / 32} chunks of 32 bytes, {@code before} = chunk {@code k-1} of leaf
 * {@code i}, or for {@code k = 0} the last chunk of leaf {@code i-1}, and absent inputs zeros. Why
 * this shape:
 * <ul>
 *   <li><b>No small state determines a leaf.</b> A construction {@code leaf = expand(hash(...))}
 *       lets a cheater keep the 32-byte hashes instead of the leaves; here every chunk of a leaf
 *       depends on a different chunk of both inputs, so a leaf is only ever made from the full
 *       bytes of its two inputs.</li>
 *   <li><b>Regeneration costs the prefix.</b> Leaf {@code i} needs leaf {@code i - 1}, which needs
 *       {@code i - 2}, and so on: from the seed alone a board recomputes every leaf before the one
 *       audited (half the plot on average, nearly all of it for the highest of {@code k} audited
 *       leaves), sequentially: {@code before} makes the whole plot one chain of
 *       {@code n * m * (1 + ROUNDS)} hashes, so it cannot be spread over cores or SIMD lanes (an
 *       earlier draft without it let chunk {@code k} of leaf {@code i} run beside chunk
 *       {@code k+1} of leaf {@code i-1}: a wavefront 32 lanes wide).</li>
 *   <li><b>Each leaf is dear on purpose.</b> The {@link #ROUNDS} extra hashes per chunk multiply
 *       what a cheater pays per recomputed leaf, and so shrink the part of the plot it can
 *       recompute within an audit's deadline; the honest board pays the same factor once, when it
 *       plots (docs/BENCHMARKS.md, "What a cheater pays"). Keeping checkpoints does not help
 *       much either: recomputing from a stored leaf {@code j} needs the random parents of
 *       {@code j+1 .. i}, which lie anywhere in the prefix and must be stored or recomputed in
 *       turn. What a cheater can save is bounded by the audit deadline: the tail of the plot it
 *       can recompute within the deadline (docs/REWARDS.md has the figures).</li>
 *   <li><b>Audits check the leaves, not only the tree.</b> A Merkle root alone proves nothing: a
 *       board could commit a tree of zeros and store nothing. An audited leaf is therefore opened
 *       with its predecessor and its parent, and the verifier recomputes it from them
 *       ({@link #label}); a plot with a fraction {@code f} of wrong leaves fails each audited index
 *       with a probability of at least {@code f}.</li>
 * </ul>
 * Plotting is one pass in leaf order with a random read per leaf (the parent); the Merkle tree is
 * built as leaves come ({@link MerkleBuilder}).
 *
 * <p>The Merkle tree: a leaf's hash is {@code SHA-256(0x00 || leaf)}, a node's
 * {@code SHA-256(0x01 || left || right)} (RFC 6962's domain separation, so a leaf can never pass
 * for a node); a path lists the siblings from the leaf's level up.
 */
public final class Plot {
    /** Bytes of a chunk: one SHA-256 output. */
    public static final int CHUNK = 32;
    /** Default leaf size. */
    public static final int DEFAULT_LEAF_SIZE = 1024;
    /** Smallest and largest leaf size. */
    public static final int MIN_LEAF_SIZE = 64;

    public static final int MAX_LEAF_SIZE = 4096;
    /** Extra sequential SHA-256 rounds over each chunk (one 64-byte block each). */
    public static final int ROUNDS = 8;
    /** At most 2^32 leaves (4 TiB of 1 KiB leaves): a path has at most 32 siblings. */
    public static final int MAX_DEPTH = 32;

    private static final byte[] ID_DOMAIN = "prospector plot v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PARENT_DOMAIN = "prospector plot parent v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ZERO_CHUNK = new byte[CHUNK];
    private static final byte[] LEAF_PREFIX = {0};
    private static final byte[] NODE_PREFIX = {1};

    private Plot() {}

    /** The plot's id: binds every leaf to the device, the seed and the shape. */
    public static byte[] id(DeviceId device, PlotParams params) {
        return Sha256.ofParts(
                ID_DOMAIN,
                device.value().getBytes(StandardCharsets.US_ASCII),
                params.seed(),
                longBytes(params.leaves()),
                longBytes(params.leafSize()));
    }

    /** The parent of leaf {@code i >= 1}: a leaf before it, fixed by the plot id. */
    public static long parent(byte[] id, long i) {
        if (i < 1) {
            throw new IllegalArgumentException("leaf 0 has no parent");
        }
        return below(Sha256.ofParts(PARENT_DOMAIN, id, longBytes(i)), i);
    }

    /** The first 8 bytes of {@code hash} (big-endian, unsigned) modulo {@code bound}. */
    static long below(byte[] hash, long bound) {
        long r = 0;
        for (int b = 0; b < 8; b++) {
            r = (r << 8) | (hash[b] & 0xff);
        }
        return Long.remainderUnsigned(r, bound);
    }

    /**
     * Computes leaf {@code i} into {@code out} from its predecessor and its parent ({@code null}
     * for leaf 0). Reuses {@code md} (a SHA-256 digest) so that a plotter allocates nothing per leaf.
     */
    public static void label(byte[] id, long i, byte[] previous, byte[] parent, byte[] out, MessageDigest md) {
        int m = out.length / CHUNK;
        if (out.length % CHUNK != 0
                || (previous != null && previous.length != out.length)
                || (parent != null && parent.length != out.length)) {
            throw new IllegalArgumentException("leaves must be whole chunks of one size");
        }
        byte[] index = longBytes(i);
        byte[] header = new byte[CHUNK + 8 + 2];
        System.arraycopy(id, 0, header, 0, CHUNK);
        System.arraycopy(index, 0, header, CHUNK, 8);
        try {
            for (int k = 0; k < m; k++) {
                header[CHUNK + 8] = (byte) (k >>> 8);
                header[CHUNK + 9] = (byte) k;
                md.reset();
                md.update(header);
                if (previous == null) {
                    md.update(ZERO_CHUNK);
                } else {
                    md.update(previous, k * CHUNK, CHUNK);
                }
                if (parent == null) {
                    md.update(ZERO_CHUNK);
                } else {
                    md.update(parent, (m - 1 - k) * CHUNK, CHUNK);
                }
                if (k > 0) {
                    md.update(out, (k - 1) * CHUNK, CHUNK);
                } else if (previous != null) {
                    md.update(previous, (m - 1) * CHUNK, CHUNK); // chains leaf i to the end of leaf i-1
                } else {
                    md.update(ZERO_CHUNK);
                }
                md.digest(out, k * CHUNK, CHUNK);
                for (int round = 0; round < ROUNDS; round++) {
                    md.update(out, k * CHUNK, CHUNK);
                    md.digest(out, k * CHUNK, CHUNK);
                }
            }
        } catch (java.security.DigestException e) {
            throw new IllegalStateException("SHA-256 output does not fit a chunk", e);
        }
    }

    /** Leaf {@code i} from its inputs, as a new array. */
    public static byte[] label(byte[] id, long i, byte[] previous, byte[] parent, int leafSize) {
        byte[] out = new byte[leafSize];
        label(id, i, previous, parent, out, Sha256.newDigest());
        return out;
    }

    /** The hash of a leaf in the Merkle tree. */
    public static byte[] leafHash(byte[] leaf) {
        return Sha256.ofParts(LEAF_PREFIX, leaf);
    }

    /** The hash of an inner node. */
    public static byte[] node(byte[] left, byte[] right) {
        return Sha256.ofParts(NODE_PREFIX, left, right);
    }

    /** Depth of the tree over {@code leaves} (a power of two): the length of every path. */
    public static int depth(long leaves) {
        return Long.numberOfTrailingZeros(leaves);
    }

    /** True if {@code path} leads from {@code leafHash} at {@code index} to {@code root}. */
    public static boolean verifyPath(byte[] root, long leaves, long index, byte[] leafHash, List<byte[]> path) {
        if (index < 0 || index >= leaves || path.size() != depth(leaves)) {
            return false;
        }
        byte[] h = leafHash;
        long at = index;
        for (byte[] sibling : path) {
            if (sibling.length != CHUNK) {
                return false;
            }
            h = (at & 1) == 0 ? node(h, sibling) : node(sibling, h);
            at >>>= 1;
        }
        return MessageDigest.isEqual(h, root);
    }

    /** The root over leaf hashes given in order (tests, small plots). */
    public static byte[] root(List<byte[]> leafHashes) {
        var b = new MerkleBuilder(leafHashes.size());
        leafHashes.forEach(b::add);
        return b.root();
    }

    static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        for (int s = 0; s < 8; s++) {
            b[s] = (byte) (v >>> (56 - 8 * s));
        }
        return b;
    }
}
