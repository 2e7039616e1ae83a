package dev.prospector.ledger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * The first state of a shard and its parameters. Encoding, big-endian:
 * <pre>
 * "PLG1" | shard count u32 | shard u32 | time ms u64 | reward key 32 | min validator stake u64
 * | account count u32 | per account: address 32, balance u64, stake u64
 * </pre>
 * Its hash (SHA-256 of the encoding) is the parent hash of block 1. The fee pool starts at zero and
 * the supply account at the sum of all balances and stakes.
 *
 * <p>A genesis read from a file keeps only its header: {@link #toState} streams the accounts from
 * the file again, so a 1,000,000-account genesis (48 MB) is never held beside the state it builds.
 */
public final class Genesis {
    static final byte[] MAGIC = "PLG1".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_BYTES = 64;
    private static final int ACCOUNT_BYTES = Address.SIZE + 16;
    /** Most accounts a genesis may hold: bounds what a hostile file can make us allocate. */
    public static final int MAX_ACCOUNTS = 50_000_000;

    private final LedgerParams params;
    private final long timeMillis;
    private final int count;
    /** In-memory accounts (built in code), or null when they stay in {@link #file}. */
    private final byte[] addrs;

    private final long[] balances;
    private final long[] stakes;
    private final Path file;
    private final long offset;
    /**
     * SHA-256 of the encoding, computed in the constructor: a final field is safely published with
     * the object, where a lazily filled cache read by several threads without synchronisation is not.
     */
    private final byte[] hash;

    public Genesis(LedgerParams params, long timeMillis, byte[] addrs, long[] balances, long[] stakes) {
        if (addrs.length != balances.length * Address.SIZE || balances.length != stakes.length) {
            throw new IllegalArgumentException("account arrays differ in length");
        }
        this.params = params;
        this.timeMillis = timeMillis;
        this.count = balances.length;
        this.addrs = addrs;
        this.balances = balances;
        this.stakes = stakes;
        this.file = null;
        this.offset = 0;
        this.hash = digest(); // last: it reads every field above
    }

    private Genesis(LedgerParams params, long timeMillis, int count, Path file, long offset, byte[] hash) {
        this.params = params;
        this.timeMillis = timeMillis;
        this.count = count;
        this.addrs = null;
        this.balances = null;
        this.stakes = null;
        this.file = file;
        this.offset = offset;
        this.hash = hash;
    }

    public LedgerParams params() {
        return params;
    }

    public long timeMillis() {
        return timeMillis;
    }

    public int accountCount() {
        return count;
    }

    /** Bytes of the encoding. */
    public long encodedLength() {
        return HEADER_BYTES + (long) ACCOUNT_BYTES * count;
    }

    /** The genesis hash: parent of block 1. */
    public byte[] hash() {
        return hash.clone();
    }

    /** Hashes the encoding of an in-memory genesis (a file's is hashed as it is read). */
    private byte[] digest() {
        MessageDigest md = Sha256.newDigest();
        try (OutputStream sink = new DigestOutputStream(OutputStream.nullOutputStream(), md)) {
            write(sink);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return md.digest();
    }

    /** Receives one genesis account. */
    @FunctionalInterface
    private interface AccountSink {
        void accept(byte[] addr, int off, long balance, long stake) throws MalformedException;
    }

    private void forEachAccount(AccountSink sink) throws IOException, MalformedException {
        if (addrs != null) {
            for (int i = 0; i < count; i++) {
                sink.accept(addrs, i * Address.SIZE, balances[i], stakes[i]);
            }
            return;
        }
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            in.skipNBytes(offset + HEADER_BYTES);
            byte[] rec = new byte[ACCOUNT_BYTES];
            for (int i = 0; i < count; i++) {
                if (in.readNBytes(rec, 0, ACCOUNT_BYTES) != ACCOUNT_BYTES) {
                    throw new MalformedException("genesis is truncated");
                }
                sink.accept(rec, 0, Bytes.getLong(rec, Address.SIZE), Bytes.getLong(rec, Address.SIZE + 8));
            }
        } catch (EOFException e) {
            throw new MalformedException("genesis is truncated");
        }
    }

    public void write(OutputStream out) throws IOException {
        DataOutputStream d = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
        d.write(MAGIC);
        d.writeInt(params.shardCount());
        d.writeInt(params.shard());
        d.writeLong(timeMillis);
        d.write(params.rewardKey().raw());
        d.writeLong(params.minValidatorStake());
        d.writeInt(count);
        try {
            forEachAccount((a, off, bal, stk) -> {
                try {
                    d.write(a, off, Address.SIZE);
                    d.writeLong(bal);
                    d.writeLong(stk);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (MalformedException e) {
            throw new IOException(e.getMessage(), e);
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
        d.flush();
    }

    /** Reads a genesis file. */
    public static Genesis read(Path file) throws IOException, MalformedException {
        return read(file, 0);
    }

    /**
     * Reads the genesis at {@code offset} of a file: checks and hashes it in one streaming pass,
     * keeping only the header in memory.
     */
    public static Genesis read(Path file, long offset) throws IOException, MalformedException {
        MessageDigest md = Sha256.newDigest();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.skipNBytes(offset);
            DataInputStream d = new DataInputStream(raw);
            byte[] header = new byte[HEADER_BYTES];
            d.readFully(header);
            md.update(header);
            if (!Arrays.equals(header, 0, 4, MAGIC, 0, 4)) {
                throw new MalformedException("not a genesis: no PLG1 magic");
            }
            int shardCount = Bytes.getInt(header, 4);
            int shard = Bytes.getInt(header, 8);
            long time = Bytes.getLong(header, 12);
            Address reward = Address.of(header, 20);
            long minStake = Bytes.getLong(header, 52);
            int count = Bytes.getInt(header, 60);
            if (count < 0 || count > MAX_ACCOUNTS) {
                throw new MalformedException(
                        "genesis account count " + Integer.toUnsignedString(count) + " above " + MAX_ACCOUNTS);
            }
            LedgerParams params;
            try {
                params = new LedgerParams(shardCount, shard, reward, minStake);
            } catch (IllegalArgumentException e) {
                throw new MalformedException("genesis parameters: " + e.getMessage());
            }
            byte[] buf = new byte[ACCOUNT_BYTES * 1024];
            long left = (long) ACCOUNT_BYTES * count;
            while (left > 0) {
                int n = (int) Math.min(buf.length, left);
                d.readFully(buf, 0, n);
                for (int o = 0; o < n; o += ACCOUNT_BYTES) {
                    if (buf[o + Address.SIZE] < 0 || buf[o + Address.SIZE + 8] < 0) {
                        throw new MalformedException("a genesis account has a balance or stake above 2^63-1");
                    }
                }
                md.update(buf, 0, n);
                left -= n;
            }
            return new Genesis(params, time, count, file, offset, md.digest());
        } catch (EOFException e) {
            throw new MalformedException("genesis is truncated");
        }
    }

    /** Builds the shard's first state; throws MalformedException on duplicates or foreign addresses. */
    public ShardState toState() throws MalformedException {
        ShardState s = new ShardState(count + 2, params.minValidatorStake());
        long[] supply = {0};
        try {
            forEachAccount((a, off, bal, stk) -> {
                if (s.indexOf(a, off) >= 0) {
                    throw new MalformedException(
                            "genesis lists account " + Address.of(a, off).hex() + " twice");
                }
                Address address = Address.of(a, off);
                if (address.isSystem() || !params.owns(address)) {
                    throw new MalformedException(
                            "genesis account " + address.hex() + " is a system address or of another shard");
                }
                s.add(address, bal, stk, 0);
                try {
                    supply[0] = Math.addExact(supply[0], Math.addExact(bal, stk));
                } catch (ArithmeticException e) {
                    throw new MalformedException("genesis supply exceeds 2^63-1");
                }
            });
        } catch (IOException e) {
            throw new MalformedException("cannot read the genesis accounts from " + file + ": " + e.getMessage());
        }
        s.add(Address.FEE_POOL, 0, 0, 0);
        s.add(Address.SUPPLY, supply[0], 0, 0);
        return s;
    }
}
