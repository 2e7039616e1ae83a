package dev.prospector.ledger;

import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A signed transaction. Fixed binary layout, big-endian, 157 bytes:
 * <pre>
 *  0 kind u8 | 1 shard u32 | 5 sender 32 | 37 nonce u64 | 45 to 32 | 77 amount u64 | 85 fee u64
 * 93 Ed25519 signature (64) by sender over bytes 0..92
 * </pre>
 * Amounts, fees and nonces are non-negative (top bit clear). Stake and unstake carry an all-zero
 * {@code to}; rewards carry no fee. A fixed layout decodes with no parsing and lets the signature be
 * checked in place inside the block's bytes (measured against CBOR in docs/LEDGER.md).
 */
public record Tx(
        TxKind kind, int shard, Address sender, long nonce, Address to, long amount, long fee, byte[] signature) {
    public static final int BODY_SIZE = 93;
    public static final int SIZE = BODY_SIZE + Ed25519.SIGNATURE_SIZE;
    static final int SENDER_OFFSET = 5;
    static final int SIGNATURE_OFFSET = BODY_SIZE;
    private static final Address NOBODY = Address.of(new byte[Address.SIZE]);

    /** Builds and signs a transaction with the sender's 32-byte Ed25519 secret key. */
    public static Tx sign(TxKind kind, int shard, byte[] secretKey, long nonce, Address to, long amount, long fee) {
        byte[] pk = new byte[Ed25519.PUBLIC_KEY_SIZE];
        Ed25519.generatePublicKey(secretKey, 0, pk, 0);
        Tx unsigned = new Tx(
                kind,
                shard,
                Address.of(pk),
                nonce,
                to == null ? NOBODY : to,
                amount,
                fee,
                new byte[Ed25519.SIGNATURE_SIZE]);
        byte[] body = unsigned.encode();
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(secretKey, 0, body, 0, BODY_SIZE, sig, 0);
        return unsigned.withSignature(sig);
    }

    /** Builds and signs a transaction when the sender's public key is already known. */
    public static Tx sign(
            TxKind kind, int shard, byte[] secretKey, Address sender, long nonce, Address to, long amount, long fee) {
        Tx unsigned = new Tx(
                kind, shard, sender, nonce, to == null ? NOBODY : to, amount, fee, new byte[Ed25519.SIGNATURE_SIZE]);
        byte[] body = unsigned.encode();
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(secretKey, 0, body, 0, BODY_SIZE, sig, 0);
        return unsigned.withSignature(sig);
    }

    /** An unsigned transaction, for executor tests that start after signature checks. */
    public static Tx unsigned(TxKind kind, Address sender, long nonce, Address to, long amount, long fee) {
        return new Tx(kind, 0, sender, nonce, to == null ? NOBODY : to, amount, fee, new byte[Ed25519.SIGNATURE_SIZE]);
    }

    public Tx withSignature(byte[] sig) {
        return new Tx(kind, shard, sender, nonce, to, amount, fee, sig.clone());
    }

    /** True when {@code to} names an account (transfer and reward). */
    public boolean hasRecipient() {
        return kind == TxKind.TRANSFER || kind == TxKind.REWARD;
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        encodeTo(b, 0);
        return b;
    }

    void encodeTo(byte[] b, int off) {
        b[off] = kind.code;
        Bytes.putInt(b, off + 1, shard);
        System.arraycopy(sender.raw(), 0, b, off + SENDER_OFFSET, Address.SIZE);
        Bytes.putLong(b, off + 37, nonce);
        System.arraycopy(to.raw(), 0, b, off + 45, Address.SIZE);
        Bytes.putLong(b, off + 77, amount);
        Bytes.putLong(b, off + 85, fee);
        System.arraycopy(signature, 0, b, off + SIGNATURE_OFFSET, Ed25519.SIGNATURE_SIZE);
    }

    /** Decodes the transaction at {@code off}; the caller guarantees SIZE bytes are there. */
    static Tx decode(byte[] b, int off) throws MalformedException {
        TxKind kind = TxKind.fromCode(b[off]);
        if (kind == null) {
            throw new MalformedException("unknown transaction kind " + b[off]);
        }
        long nonce = Bytes.getLong(b, off + 37);
        long amount = Bytes.getLong(b, off + 77);
        long fee = Bytes.getLong(b, off + 85);
        if (nonce < 0 || amount < 0 || fee < 0) {
            throw new MalformedException("nonce, amount and fee must be below 2^63");
        }
        Address to = Address.of(b, off + 45);
        boolean hasTo = kind == TxKind.TRANSFER || kind == TxKind.REWARD;
        if (hasTo == to.equals(NOBODY)) {
            throw new MalformedException(
                    hasTo ? "transfer or reward without recipient" : "stake or unstake with a recipient");
        }
        if (to.isSystem()) {
            throw new MalformedException("recipient is a system account");
        }
        if (kind == TxKind.REWARD && fee != 0) {
            throw new MalformedException("a reward carries no fee");
        }
        return new Tx(
                kind,
                Bytes.getInt(b, off + 1),
                Address.of(b, off + SENDER_OFFSET),
                nonce,
                to,
                amount,
                fee,
                Arrays.copyOfRange(b, off + SIGNATURE_OFFSET, off + SIZE));
    }

    /** Checks the signature in place: the sender is the public key. */
    static boolean verifySignature(byte[] b, int off) {
        return Ed25519.verify(b, off + SIGNATURE_OFFSET, b, off + SENDER_OFFSET, b, off, BODY_SIZE);
    }

    /** Checks the signature in place against an already decoded sender key (saves ~10% per verify). */
    static boolean verifySignature(byte[] b, int off, Ed25519.PublicPoint sender) {
        return Ed25519.verify(b, off + SIGNATURE_OFFSET, sender, b, off, BODY_SIZE);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tx t
                && kind == t.kind
                && shard == t.shard
                && sender.equals(t.sender)
                && nonce == t.nonce
                && to.equals(t.to)
                && amount == t.amount
                && fee == t.fee
                && Arrays.equals(signature, t.signature);
    }

    @Override
    public int hashCode() {
        return sender.hashCode() * 31 + Long.hashCode(nonce);
    }

    @Override
    public String toString() {
        return kind + " " + sender.hex().substring(0, 8) + "#" + nonce + " -> "
                + to.hex().substring(0, 8) + " " + amount + " fee " + fee;
    }
}
