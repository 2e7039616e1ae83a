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
import java.security.DigestInputStream;
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
 */
public final class Genesis {
    static final byte[] MAGIC = "PLG1".getBytes(StandardCharsets.US_ASCII);
    private static final int ACCOUNT_BYTES = Address.SIZE + 16;
    /** Most accounts a genesis may hold: bounds what a hostile file can make us allocate. */
    public static final int MAX_ACCOUNTS = 50_000_000;

    private final LedgerParams params;
    private final long timeMillis;
    private final byte[] addrs;
    private final long[] balances;
    private final long[] stakes;
    private byte[] hash;

    public Genesis(LedgerParams params, long timeMillis, byte[] addrs, long[] balances, long[] stakes) {
        if (addrs.length != balances.length * Address.SIZE || balances.length != stakes.length) {
            throw new IllegalArgumentException("account arrays differ in length");
        }
        this.params = params;
        this.timeMillis = timeMillis;
        this.addrs = addrs;
        this.balances = balances;
        this.stakes = stakes;
    }

    public LedgerParams params() {
        return params;
    }

    public long timeMillis() {
        return timeMillis;
    }

    public int accountCount() {
        return balances.length;
    }

    /** The genesis hash: parent of block 1. */
    public byte[] hash() {
        if (hash == null) {
            MessageDigest md = Sha256.newDigest();
            try (OutputStream sink = new DigestOutputStream(OutputStream.nullOutputStream(), md)) {
                write(sink);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            hash = md.digest();
        }
        return hash.clone();
    }

    public void write(OutputStream out) throws IOException {
        DataOutputStream d = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
        d.write(MAGIC);
        d.writeInt(params.shardCount());
        d.writeInt(params.shard());
        d.writeLong(timeMillis);
        d.write(params.rewardKey().raw());
        d.writeLong(params.minValidatorStake());
        d.writeInt(balances.length);
        for (int i = 0; i < balances.length; i++) {
            d.write(addrs, i * Address.SIZE, Address.SIZE);
            d.writeLong(balances[i]);
            d.writeLong(stakes[i]);
        }
        d.flush();
    }

    /** Reads exactly one genesis from the stream (which is left positioned after it). */
    public static Genesis read(InputStream in) throws IOException, MalformedException {
        MessageDigest md = Sha256.newDigest();
        DataInputStream d = new DataInputStream(new DigestInputStream(in, md));
        try {
            byte[] magic = d.readNBytes(4);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new MalformedException("not a genesis: no PLG1 magic");
            }
            int shardCount = d.readInt();
            int shard = d.readInt();
            long time = d.readLong();
            byte[] reward = new byte[Address.SIZE];
            d.readFully(reward);
            long minStake = d.readLong();
            int count = d.readInt();
            if (count < 0 || count > MAX_ACCOUNTS) {
                throw new MalformedException("genesis account count " + Integer.toUnsignedString(count) + " above " + MAX_ACCOUNTS);
            }
            LedgerParams params;
            try {
                params = new LedgerParams(shardCount, shard, Address.of(reward), minStake);
            } catch (IllegalArgumentException e) {
                throw new MalformedException("genesis parameters: " + e.getMessage());
            }
            byte[] addrs = new byte[count * Address.SIZE];
            long[] bal = new long[count];
            long[] stk = new long[count];
            byte[] rec = new byte[ACCOUNT_BYTES];
            for (int i = 0; i < count; i++) {
                d.readFully(rec);
                System.arraycopy(rec, 0, addrs, i * Address.SIZE, Address.SIZE);
                bal[i] = Bytes.getLong(rec, Address.SIZE);
                stk[i] = Bytes.getLong(rec, Address.SIZE + 8);
                if (bal[i] < 0 || stk[i] < 0) {
                    throw new MalformedException("genesis account " + i + " has a balance or stake above 2^63-1");
                }
            }
            Genesis g = new Genesis(params, time, addrs, bal, stk);
            g.hash = md.digest();
            return g;
        } catch (EOFException e) {
            throw new MalformedException("genesis is truncated");
        }
    }

    public static Genesis read(java.nio.file.Path file) throws IOException, MalformedException {
        try (InputStream in = new BufferedInputStream(java.nio.file.Files.newInputStream(file), 1 << 16)) {
            return read(in);
        }
    }

    /** Builds the shard's first state; throws MalformedException on duplicates or foreign addresses. */
    public ShardState toState() throws MalformedException {
        int n = balances.length;
        ShardState s = new ShardState(n + 2, params.minValidatorStake());
        long supply = 0;
        for (int i = 0; i < n; i++) {
            Address a = Address.of(addrs, i * Address.SIZE);
            if (a.isSystem() || !params.owns(a)) {
                throw new MalformedException("genesis account " + a.hex() + " is a system address or of another shard");
            }
            if (s.indexOf(addrs, i * Address.SIZE) >= 0) {
                throw new MalformedException("genesis lists account " + a.hex() + " twice");
            }
            s.add(a, balances[i], stakes[i], 0);
            try {
                supply = Math.addExact(supply, Math.addExact(balances[i], stakes[i]));
            } catch (ArithmeticException e) {
                throw new MalformedException("genesis supply exceeds 2^63-1");
            }
        }
        s.add(Address.FEE_POOL, 0, 0, 0);
        s.add(Address.SUPPLY, supply, 0, 0);
        return s;
    }
}
