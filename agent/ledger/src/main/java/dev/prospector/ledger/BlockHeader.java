package dev.prospector.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A block's header. The block encoding is fixed binary, big-endian:
 * <pre>
 *   0 magic "PLB1" | 4 shard u32 | 8 height u64 | 16 time ms u64 | 24 parent hash 32
 *  56 tx root 32 | 88 state root 32 | 120 proposer 32 | 152 tx count u32
 * 156 transactions (Tx.SIZE each) | proposer's Ed25519 signature (64) over bytes 0..155
 * </pre>
 * The block hash is the SHA-256 of the 156 header bytes; the header commits to the transactions
 * through the tx root, so the proposer signs everything.
 */
public record BlockHeader(
        int shard,
        long height,
        long timeMillis,
        byte[] parentHash,
        byte[] txRoot,
        byte[] stateRoot,
        Address proposer,
        int txCount) {
    static final byte[] MAGIC = "PLB1".getBytes(StandardCharsets.US_ASCII);
    public static final int SIZE = 156;
    /** Most transactions a block may carry: bounds the memory a hostile block can claim. */
    public static final int MAX_TXS = 100_000;

    public static int blockSize(int txCount) {
        return SIZE + txCount * Tx.SIZE + Ed25519.SIGNATURE_SIZE;
    }

    void encodeTo(byte[] b) {
        System.arraycopy(MAGIC, 0, b, 0, 4);
        Bytes.putInt(b, 4, shard);
        Bytes.putLong(b, 8, height);
        Bytes.putLong(b, 16, timeMillis);
        System.arraycopy(parentHash, 0, b, 24, 32);
        System.arraycopy(txRoot, 0, b, 56, 32);
        System.arraycopy(stateRoot, 0, b, 88, 32);
        System.arraycopy(proposer.raw(), 0, b, 120, 32);
        Bytes.putInt(b, 152, txCount);
    }

    static BlockHeader decode(byte[] b) throws MalformedException {
        if (b.length < SIZE + Ed25519.SIGNATURE_SIZE || !Arrays.equals(b, 0, 4, MAGIC, 0, 4)) {
            throw new MalformedException("not a block: too short or no PLB1 magic");
        }
        int count = Bytes.getInt(b, 152);
        if (count < 0 || count > MAX_TXS) {
            throw new MalformedException("transaction count " + Integer.toUnsignedString(count) + " above " + MAX_TXS);
        }
        if (b.length != blockSize(count)) {
            throw new MalformedException("length " + b.length + " does not match " + count + " transactions");
        }
        return new BlockHeader(
                Bytes.getInt(b, 4),
                Bytes.getLong(b, 8),
                Bytes.getLong(b, 16),
                Arrays.copyOfRange(b, 24, 56),
                Arrays.copyOfRange(b, 56, 88),
                Arrays.copyOfRange(b, 88, 120),
                Address.of(b, 120),
                count);
    }

    /** SHA-256 of the header bytes of an encoded block (or of all bytes if shorter than a header). */
    static byte[] hashOf(byte[] block) {
        return Sha256.hash(block, 0, Math.min(block.length, SIZE));
    }

    /** Encodes and signs a block: the proposer's tool, used by {@code ledger gen} and tests. */
    public static byte[] seal(
            int shard,
            long height,
            long timeMillis,
            byte[] parentHash,
            byte[] stateRoot,
            Tx[] txs,
            byte[] proposerSecretKey) {
        byte[] pk = new byte[Ed25519.PUBLIC_KEY_SIZE];
        Ed25519.generatePublicKey(proposerSecretKey, 0, pk, 0);
        byte[] b = new byte[blockSize(txs.length)];
        for (int i = 0; i < txs.length; i++) {
            txs[i].encodeTo(b, SIZE + i * Tx.SIZE);
        }
        byte[] txRoot = TxRoot.of(b, SIZE, txs.length, null);
        new BlockHeader(shard, height, timeMillis, parentHash, txRoot, stateRoot, Address.of(pk), txs.length)
                .encodeTo(b);
        Ed25519.sign(proposerSecretKey, 0, b, 0, SIZE, b, b.length - Ed25519.SIGNATURE_SIZE);
        return b;
    }

    static boolean verifySignature(byte[] block) {
        return Ed25519.verify(block, block.length - Ed25519.SIGNATURE_SIZE, block, 120, block, 0, SIZE);
    }
}
