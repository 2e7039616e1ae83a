package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

class TxRootTest {

    private static byte[] leaf(byte[] tx) {
        byte[] b = new byte[1 + tx.length];
        System.arraycopy(tx, 0, b, 1, tx.length);
        return Sha256.hash(b);
    }

    @Test
    void anOddLastNodeIsPromotedNotDuplicated() {
        byte[] txs = new byte[3 * Tx.SIZE];
        new Random(1).nextBytes(txs);
        byte[][] l = new byte[3][];
        for (int i = 0; i < 3; i++) {
            l[i] = leaf(java.util.Arrays.copyOfRange(txs, i * Tx.SIZE, (i + 1) * Tx.SIZE));
        }
        byte[] expected = SparseMerkleTree.nodeHash(SparseMerkleTree.nodeHash(l[0], l[1]), l[2]);
        assertArrayEquals(expected, TxRoot.of(txs, 0, 3, null));
    }

    @Test
    void theRootIsTheSameHashedOnAPool() {
        ForkJoinPool pool = new ForkJoinPool(3);
        try {
            for (int n : new int[] {0, 1, 2, 1_023, 2_049, 5_001}) {
                byte[] txs = new byte[n * Tx.SIZE];
                new Random(n).nextBytes(txs);
                assertArrayEquals(TxRoot.of(txs, 0, n, null), TxRoot.of(txs, 0, n, pool), n + " transactions");
            }
        } finally {
            pool.shutdown();
        }
    }
}
