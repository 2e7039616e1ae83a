package dev.prospector.agent.verifier;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.common.StorageFailure;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.TxKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.tinylog.Logger;

/**
 * Issues the reward transactions of closed epochs, signed by the network's reward key, and keeps
 * them in {@code rewards.log} so that no epoch is ever issued twice, across restarts too.
 *
 * <h2>Transactions</h2>
 * One ledger {@link TxKind#REWARD} per device with a reward above 0 per epoch, in the ledger's own
 * layout ({@link Tx}): shard {@link #SHARD}, sender = the reward key (the genesis' reward key), a
 * nonce that counts up from 0 over all rewards ever issued, recipient = the device's first public
 * key, fee 0. Signed by the reward key as {@code Tx.sign} does (Ed25519 over the 93-byte body).
 *
 * <h2>The log</h2>
 * Append-only text, one line per record, each ending in the CRC-32C (hex) of what precedes it:
 *
 * <pre>
 * v1 reward EPOCH DEVICE AMOUNT NONCE TX-HEX CRC
 * v1 closed EPOCH DEVICES TOTAL CRC
 * </pre>
 *
 * An epoch's batch (its rewards, then its {@code closed} line) is written at once and forced to disk
 * before the epoch counts as issued. A write that fails is cut off again, and the epoch is issued at
 * the next try; a force that fails stops issuing until a restart rereads the log. At start, a damaged last line (a torn write) and rewards
 * after the last {@code closed} line are cut: that epoch is issued again, with the same nonces, so
 * a ledger that saw the first attempt refuses the second (its reward account's nonce moved on).
 * A damaged line before the end stops the verifier with one line naming the file.
 */
public final class RewardIssuer implements AutoCloseable {
    /** The shard rewards are issued on: the ledger runs one shard so far. */
    public static final int SHARD = 0;

    /** One reward to issue. */
    public record Due(DeviceId device, byte[] firstKey, long amount) {}

    /** One issued reward. */
    public record Issued(long epoch, DeviceId device, long amount, Tx tx) {}

    private final DeviceKeys key;
    private final Optional<Path> file;
    private long lastClosed;
    private long nextNonce;
    private final List<Issued> issued = new ArrayList<>();
    private Faults faults = step -> {};
    /** Why nothing more can be issued until a restart, or null. */
    private String broken;

    private RewardIssuer(DeviceKeys key, Optional<Path> file, long lastClosed, long nextNonce) {
        this.key = key;
        this.file = file;
        this.lastClosed = lastClosed;
        this.nextNonce = nextNonce;
    }

    /** An issuer that keeps its log in memory only. */
    public static RewardIssuer inMemory(DeviceKeys key) {
        return new RewardIssuer(key, Optional.empty(), Long.MIN_VALUE, 0);
    }

    /** Opens (creating) the log at {@code file}: which epochs are issued, and the next nonce. */
    public static RewardIssuer open(DeviceKeys key, Path file) {
        long lastClosed = Long.MIN_VALUE;
        long nextNonce = 0;
        List<Issued> pending = new ArrayList<>();
        List<Issued> kept = new ArrayList<>();
        long goodBytes = 0;
        if (Files.exists(file)) {
            byte[] all;
            try {
                all = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new StorageFailure("cannot read the reward log " + file + ": " + e.getMessage(), e);
            }
            int at = 0;
            int lineNo = 0;
            while (at < all.length) {
                int end = at;
                while (end < all.length && all[end] != '\n') {
                    end++;
                }
                lineNo++;
                boolean last = end >= all.length - 1;
                String line = new String(all, at, end - at, StandardCharsets.US_ASCII);
                Object record = end < all.length ? parse(line) : null;
                if (record == null) {
                    if (last) {
                        break; // a torn last line
                    }
                    throw new Failure(
                            "reward log " + file + " is damaged at line " + lineNo
                                    + ": move it aside to a safe place and restore it from a backup (without it, epochs could be rewarded twice)");
                }
                if (record instanceof Issued r) {
                    if (r.epoch() <= lastClosed && lastClosed != Long.MIN_VALUE) {
                        throw new Failure("reward log " + file + " is damaged at line " + lineNo
                                + " (a reward of epoch " + r.epoch() + ", already closed): restore it from a backup");
                    }
                    pending.add(r);
                } else {
                    long epoch = (Long) record;
                    lastClosed = epoch;
                    kept.addAll(pending);
                    for (Issued r : pending) {
                        nextNonce = Math.max(nextNonce, r.tx().nonce() + 1);
                    }
                    pending.clear();
                    goodBytes = end + 1;
                }
                at = end + 1;
            }
            if (goodBytes < all.length) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(goodBytes);
                    ch.force(true);
                } catch (IOException e) {
                    throw new StorageFailure(
                            "cannot cut the torn end of the reward log " + file + ": " + e.getMessage(), e);
                }
            }
        }
        RewardIssuer out = new RewardIssuer(key, Optional.of(file), lastClosed, nextNonce);
        out.issued.addAll(kept.subList(Math.max(0, kept.size() - 1000), kept.size()));
        return out;
    }

    /**
     * The ledger transaction that pays {@code amount} to the account of {@code recipientKey} (a
     * device's first public key) with {@code nonce}, signed by the reward {@code key}: kind REWARD,
     * shard {@link #SHARD}, fee 0. Shared with the Kafka mode's payer.
     */
    public static Tx rewardTx(DeviceKeys key, long nonce, byte[] recipientKey, long amount) {
        Tx body = new Tx(
                TxKind.REWARD,
                SHARD,
                Address.of(key.publicKey()),
                nonce,
                Address.of(recipientKey),
                amount,
                0,
                new byte[64]);
        return body.withSignature(key.sign(body.encode(), 0, Tx.BODY_SIZE));
    }

    /** The reward key's address: the genesis' reward key. */
    public Address address() {
        return Address.of(key.publicKey());
    }

    /** The last epoch issued, or {@link Long#MIN_VALUE}. */
    public synchronized long lastClosed() {
        return lastClosed;
    }

    public synchronized long nextNonce() {
        return nextNonce;
    }

    /** The latest rewards issued (at most 1000, oldest first). */
    public synchronized List<Issued> recent() {
        return List.copyOf(issued);
    }

    /**
     * Issues the rewards of {@code epoch} (which must be later than the last one issued) and makes
     * them durable; returns them. An epoch with nothing due is recorded as closed all the same.
     */
    public synchronized List<Issued> issue(long epoch, List<Due> due) {
        if (broken != null) {
            throw new StorageFailure(broken, null);
        }
        if (lastClosed != Long.MIN_VALUE && epoch <= lastClosed) {
            throw new IllegalStateException("epoch " + epoch + " is issued already (last " + lastClosed + ")");
        }
        List<Issued> out = new ArrayList<>();
        StringBuilder batch = new StringBuilder();
        long nonce = nextNonce;
        long total = 0;
        for (Due d : due) {
            if (d.amount() <= 0) {
                continue;
            }
            Tx tx = rewardTx(key, nonce, d.firstKey(), d.amount());
            nonce++;
            total += d.amount();
            Issued r = new Issued(epoch, d.device(), d.amount(), tx);
            out.add(r);
            batch.append(line("v1 reward " + epoch + " " + d.device().value() + " " + d.amount() + " " + tx.nonce()
                    + " " + HexFormat.of().formatHex(tx.encode())));
        }
        batch.append(line("v1 closed " + epoch + " " + out.size() + " " + total));
        if (file.isPresent()) {
            append(epoch, batch.toString().getBytes(StandardCharsets.US_ASCII));
        }
        nextNonce = nonce;
        lastClosed = epoch;
        issued.addAll(out);
        if (issued.size() > 1000) {
            issued.subList(0, issued.size() - 1000).clear();
        }
        return out;
    }

    /**
     * Appends an epoch's batch and forces it to disk. A failed write is cut off again (the log ends
     * where it did, and the epoch is issued at the next try with the same nonces, which nobody saw).
     * A failed force, or a cut that fails, leaves the log's end unknown: nothing more is issued until
     * a restart rereads the log (which keeps the batch if all of it reached the disk, else cuts it).
     */
    private void append(long epoch, byte[] bytes) {
        Path f = file.orElseThrow();
        boolean forced = false;
        try (FileChannel ch =
                FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            long size = ch.size();
            try {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                faults.at(Step.WRITE);
            } catch (IOException e) {
                try {
                    ch.truncate(size);
                    ch.force(true);
                } catch (IOException cut) {
                    e.addSuppressed(cut);
                    throw fatal(epoch, f, e);
                }
                throw new StorageFailure(
                        "cannot append to the reward log " + f + ": " + e.getMessage() + " (epoch " + epoch
                                + " is issued at the next try)",
                        e);
            }
            try {
                faults.at(Step.FORCE);
                ch.force(true);
                forced = true;
            } catch (IOException e) {
                throw fatal(epoch, f, e);
            }
        } catch (IOException e) {
            if (!forced) {
                throw new StorageFailure(
                        "cannot append to the reward log " + f + ": " + e.getMessage() + " (epoch " + epoch
                                + " is issued at the next try)",
                        e);
            }
            Logger.warn("closing the reward log {} failed after its batch was forced: {}", f, e.getMessage());
        }
    }

    private StorageFailure fatal(long epoch, Path f, IOException e) {
        broken = "the reward log " + f + " may hold part of epoch " + epoch + "'s rewards (" + e.getMessage()
                + "): no more rewards are issued until the verifier restarts and rereads it";
        return new StorageFailure(broken, e);
    }

    /** Where {@link #append} can be made to fail, for tests. */
    enum Step {
        WRITE,
        FORCE
    }

    /** Throws at a {@link Step} to simulate a failing disk (tests); does nothing in service. */
    @FunctionalInterface
    interface Faults {
        void at(Step step) throws IOException;
    }

    /** This issuer failing where {@code f} says (tests). */
    synchronized void faults(Faults f) {
        faults = f;
    }

    private static String line(String text) {
        CRC32C crc = new CRC32C();
        crc.update(text.getBytes(StandardCharsets.US_ASCII));
        return text + " " + String.format("%08x", crc.getValue()) + "\n";
    }

    /** An {@link Issued}, a closed epoch (Long), or null when the line does not check out. */
    private static Object parse(String line) {
        int sp = line.lastIndexOf(' ');
        if (sp < 0) {
            return null;
        }
        String text = line.substring(0, sp);
        CRC32C crc = new CRC32C();
        crc.update(text.getBytes(StandardCharsets.US_ASCII));
        if (!String.format("%08x", crc.getValue()).equals(line.substring(sp + 1))) {
            return null;
        }
        String[] f = text.split(" ");
        try {
            if (f.length == 5 && f[0].equals("v1") && f[1].equals("closed")) {
                return Long.parseLong(f[2]);
            }
            if (f.length == 7 && f[0].equals("v1") && f[1].equals("reward") && DeviceId.isValid(f[3])) {
                byte[] raw = HexFormat.of().parseHex(f[6]);
                if (raw.length != Tx.SIZE) {
                    return null;
                }
                Tx tx = decode(raw);
                if (tx == null || tx.nonce() != Long.parseLong(f[5]) || tx.amount() != Long.parseLong(f[4])) {
                    return null;
                }
                return new Issued(Long.parseLong(f[2]), new DeviceId(f[3]), Long.parseLong(f[4]), tx);
            }
        } catch (IllegalArgumentException e) {
            return null;
        }
        return null;
    }

    /** A reward transaction in the ledger's layout (see {@link Tx}), or null. */
    static Tx decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw);
        b.get(); // the kind: checked by encoding again below
        int shard = b.getInt();
        byte[] sender = new byte[Address.SIZE];
        b.get(sender);
        long nonce = b.getLong();
        byte[] to = new byte[Address.SIZE];
        b.get(to);
        long amount = b.getLong();
        long fee = b.getLong();
        byte[] sig = new byte[Tx.SIZE - Tx.BODY_SIZE];
        b.get(sig);
        if (nonce < 0 || amount < 0 || fee != 0) {
            return null;
        }
        Tx tx = new Tx(TxKind.REWARD, shard, Address.of(sender), nonce, Address.of(to), amount, fee, sig);
        return java.util.Arrays.equals(tx.encode(), raw) ? tx : null;
    }

    @Override
    public void close() {
        // every batch is forced as it is written
    }
}
