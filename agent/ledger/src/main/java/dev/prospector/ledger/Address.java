package dev.prospector.ledger;

import java.util.Arrays;

/**
 * An account address: the account's Ed25519 public key (32 bytes), so a transaction's sender is
 * also the key that verifies it. Shown as lowercase hex everywhere.
 */
public final class Address implements Comparable<Address> {
    public static final int SIZE = 32;
    /** System account receiving every transaction fee, as one commutative delta per block. */
    public static final Address FEE_POOL = system("fee-pool");
    /** System account whose balance is the total supply, moved by rewards as a delta per block. */
    public static final Address SUPPLY = system("supply");

    private final byte[] bytes;

    private Address(byte[] bytes) {
        this.bytes = bytes;
    }

    public static Address of(byte[] b) {
        if (b.length != SIZE) {
            throw new IllegalArgumentException("address must be 32 bytes, got " + b.length);
        }
        return new Address(b.clone());
    }

    static Address of(byte[] b, int off) {
        return new Address(Arrays.copyOfRange(b, off, off + SIZE));
    }

    /** Parses 64 hex digits; throws IllegalArgumentException naming the problem. */
    public static Address fromHex(String hex) {
        String h = hex.startsWith("0x") ? hex.substring(2) : hex;
        if (h.length() != 2 * SIZE) {
            throw new IllegalArgumentException("an address is 64 hex digits, got " + h.length() + " characters");
        }
        return new Address(Bytes.unhex(h));
    }

    /**
     * A system address: the SHA-256 of its name, so that it sits at a random place in the state
     * tree like any key (two system keys with a long common prefix would hang a deep chain of
     * single-child nodes off the root). Nobody holds its private key, so nobody can send from it.
     */
    private static Address system(String name) {
        return new Address(
                Sha256.hash(("prospector/ledger/system/" + name).getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }

    public boolean isSystem() {
        return equals(FEE_POOL) || equals(SUPPLY);
    }

    /** The shard that owns this address: its first byte modulo the shard count. */
    public int shard(int shardCount) {
        return Byte.toUnsignedInt(bytes[0]) % shardCount;
    }

    public byte[] toBytes() {
        return bytes.clone();
    }

    byte[] raw() {
        return bytes;
    }

    public String hex() {
        return Bytes.hex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Address a && Arrays.equals(bytes, a.bytes);
    }

    @Override
    public int hashCode() {
        // Addresses are public keys or hashes: any 4 bytes are uniformly distributed.
        return Bytes.getInt(bytes, 0) ^ Bytes.getInt(bytes, 28);
    }

    @Override
    public int compareTo(Address o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public String toString() {
        return hex();
    }
}
