package dev.prospector.ledger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The whole shard state at one height, so a restart replays only the blocks after it:
 * <pre>
 * "PLS1" | genesis hash 32 | height u64 | head hash 32 | state root 32 | log offset u64
 * | account count u32 | per account: address 32, balance, stake, nonce (u64 each) | CRC32C u32
 * </pre>
 * Written to a temporary file, forced, then renamed over the previous snapshot (atomic on POSIX),
 * and the directory forced: at any instant the snapshot on disk is the old one or the new one,
 * whole. On load the tree is rebuilt and its root must equal the recorded one.
 */
final class SnapshotStore {
    private static final int MAGIC = 0x504C5331;
    static final String FILE = "snapshot.bin";
    private static final String TEMP = "snapshot.tmp";
    private static final int ACCOUNT_BYTES = Address.SIZE + 24;

    private final Path dir;

    SnapshotStore(Path dir) {
        this.dir = dir;
    }

    /** A loaded snapshot: the chain at its height and where the log continues. */
    record Loaded(Chain chain, long logOffset) {}

    void write(Chain chain, byte[] genesisHash, long logOffset) throws IOException {
        Path tmp = dir.resolve(TEMP);
        ShardState s = chain.state();
        byte[] root = s.root(null);
        CRC32C crc = new CRC32C();
        try (OutputStream file = Files.newOutputStream(tmp);
                DataOutputStream d =
                        new DataOutputStream(new BufferedOutputStream(new CheckedOutputStream(file, crc), 1 << 16))) {
            d.writeInt(MAGIC);
            d.write(genesisHash);
            d.writeLong(chain.height());
            d.write(chain.headHashRef());
            d.write(root);
            d.writeLong(logOffset);
            d.writeInt(s.size());
            byte[] rec = new byte[ACCOUNT_BYTES];
            for (int i = 0; i < s.size(); i++) {
                System.arraycopy(s.addrs, i * Address.SIZE, rec, 0, Address.SIZE);
                Bytes.putLong(rec, 32, s.balance[i]);
                Bytes.putLong(rec, 40, s.stake[i]);
                Bytes.putLong(rec, 48, s.nonce[i]);
                d.write(rec);
            }
            d.flush();
            d.writeInt((int) crc.getValue());
            d.flush();
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException(
                    "the data directory " + dir + " does not support atomic rename; use a local file system", e);
        }
        forceDirectory(dir);
    }

    static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems cannot open a directory for fsync; rename durability is then best effort.
        }
    }

    /** The snapshot if one exists, is whole, and belongs to this genesis. */
    Optional<Loaded> load(LedgerParams params, byte[] genesisHash, java.util.concurrent.ForkJoinPool pool)
            throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        CRC32C crc = new CRC32C();
        try (InputStream in = Files.newInputStream(file);
                DataInputStream d =
                        new DataInputStream(new CheckedInputStream(new BufferedInputStream(in, 1 << 16), crc))) {
            if (d.readInt() != MAGIC) {
                return Optional.empty();
            }
            byte[] g = d.readNBytes(32);
            if (!Arrays.equals(g, genesisHash)) {
                throw new IOException("snapshot " + file
                        + " belongs to another genesis; move the data directory aside to start over");
            }
            long height = d.readLong();
            byte[] head = d.readNBytes(32);
            byte[] root = d.readNBytes(32);
            long logOffset = d.readLong();
            int count = d.readInt();
            ShardState s = new ShardState(count, params.minValidatorStake());
            byte[] rec = new byte[ACCOUNT_BYTES];
            for (int i = 0; i < count; i++) {
                d.readFully(rec);
                s.add(Address.of(rec, 0), Bytes.getLong(rec, 32), Bytes.getLong(rec, 40), Bytes.getLong(rec, 48));
            }
            int expected = (int) crc.getValue();
            if (d.readInt() != expected) {
                return Optional.empty();
            }
            if (!Arrays.equals(s.root(pool), root)) {
                throw new IOException(
                        "snapshot " + file + " does not hash to its recorded root; delete it to replay the block log");
            }
            return Optional.of(new Loaded(new Chain(params, s, height, head), logOffset));
        } catch (java.io.EOFException e) {
            return Optional.empty();
        }
    }
}
