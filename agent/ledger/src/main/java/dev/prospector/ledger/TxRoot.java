package dev.prospector.ledger;

import java.security.DigestException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;

/**
 * The transaction root: a binary Merkle tree over the block's transactions in order,
 * leaf = SHA-256(0x00 || tx bytes), node = SHA-256(0x01 || left || right); an odd node is promoted
 * unchanged (never duplicated, which would let two transaction lists share a root); no
 * transactions give 32 zero bytes.
 */
final class TxRoot {
    /** A level with at least this many parents is hashed on the pool; smaller ones are not worth a fork. */
    private static final int PARALLEL_LEVEL = 1_024;
    /** Hashes per task: ~100 us of SHA-256. */
    private static final int HASH_GRAIN = 512;

    private TxRoot() {}

    /** Hashes the leaves (in parallel when given a pool) and then the levels above. */
    static byte[] of(byte[] block, int off, int count, ForkJoinPool pool) {
        byte[] level = new byte[count * Sha256.SIZE];
        Parallel.forRange(pool, count, HASH_GRAIN, (lo, hi) -> {
            MessageDigest md = Sha256.threadDigest();
            for (int i = lo; i < hi; i++) {
                hashLeaf(md, block, off + i * Tx.SIZE, level, i);
            }
        });
        return fromLeaves(level, count, pool);
    }

    static void hashLeaf(MessageDigest md, byte[] block, int txOff, byte[] out, int i) {
        md.update(SparseMerkleTree.LEAF_PREFIX);
        md.update(block, txOff, Tx.SIZE);
        finish(md, out, i * Sha256.SIZE);
    }

    /** Hashes the levels above the leaves; levels of more than PARALLEL_LEVEL nodes are split over the pool. */
    static byte[] fromLeaves(byte[] level, int count, ForkJoinPool pool) {
        if (count == 0) {
            return new byte[Sha256.SIZE];
        }
        byte[] src = level;
        byte[] dst = new byte[((count + 1) / 2) * Sha256.SIZE];
        int n = count;
        while (n > 1) {
            int parents = (n + 1) / 2;
            int width = n;
            byte[] from = src;
            byte[] to = dst;
            // Parents are written to a second buffer: in place, a task would overwrite nodes another task still reads.
            Parallel.forRange(parents >= PARALLEL_LEVEL ? pool : null, parents, HASH_GRAIN, (lo, hi) -> {
                MessageDigest md = Sha256.threadDigest();
                for (int p = lo; p < hi; p++) {
                    int l = 2 * p;
                    if (l + 1 < width) {
                        md.update(SparseMerkleTree.NODE_PREFIX);
                        md.update(from, l * Sha256.SIZE, 2 * Sha256.SIZE);
                        finish(md, to, p * Sha256.SIZE);
                    } else {
                        System.arraycopy(from, l * Sha256.SIZE, to, p * Sha256.SIZE, Sha256.SIZE);
                    }
                }
            });
            src = to;
            dst = from;
            n = parents;
        }
        return Arrays.copyOf(src, Sha256.SIZE);
    }

    private static void finish(MessageDigest md, byte[] out, int off) {
        try {
            md.digest(out, off, Sha256.SIZE);
        } catch (DigestException e) {
            throw new IllegalStateException(e);
        }
    }
}
