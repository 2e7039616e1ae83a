package dev.prospector.bench;

import dev.prospector.attest.Audit;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.MerkleBuilder;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import dev.prospector.attest.Sha256;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmarks' own plot on disk: a minimal sequential plotter (not the board's; agent/node has
 * the real one), the Merkle levels from {@value #LOW_LEVEL} upward kept in memory, and honest
 * audit answers read back from the file. Leaf {@code i} is {@link Plot#label} of leaf {@code i - 1}
 * (kept from the step before) and its parent, read back from the file with a positional read (or
 * from the batch not yet written); leaves are written in batches of {@value #BATCH_BYTES} bytes.
 * An audit answer reads, for each opened leaf, the aligned group of {@code 2^}{@value #LOW_LEVEL}
 * leaves around it (one positional read), hashes them for the lowest levels of its path and takes
 * the rest from the stored levels: the layout the board's {@code plot.tree} has.
 */
public final class PosPlot implements AutoCloseable {
    /** Lowest Merkle level kept in memory: a path needs at most {@code 2^LOW_LEVEL} leaf reads. */
    public static final int LOW_LEVEL = 4;
    /** Leaves are written in batches of this many bytes. */
    static final int BATCH_BYTES = 1 << 20;

    /** Told how far a long step has come. */
    @FunctionalInterface
    public interface Progress {
        void at(long done, long total);

        Progress NONE = (done, total) -> {};
    }

    private final Path file;
    private final PlotParams params;
    private final byte[] id;
    private final FileChannel channel;
    private final int low;
    private final byte[][] levels;
    private final PlotCommitment commitment;
    /** Seconds the plotting took (compute and write to the page cache), and the final fsync. */
    private final double plotSeconds;

    private final double syncSeconds;
    /** CPU seconds of the plotting thread while it computed and wrote (what a core of its own would take). */
    private final double plotCpuSeconds;

    private PosPlot(
            Path file,
            PlotParams params,
            byte[] id,
            FileChannel channel,
            int low,
            byte[][] levels,
            byte[] root,
            double plotSeconds,
            double syncSeconds,
            double plotCpuSeconds) {
        this.file = file;
        this.params = params;
        this.id = id;
        this.channel = channel;
        this.low = low;
        this.levels = levels;
        this.commitment = new PlotCommitment(params, root);
        this.plotSeconds = plotSeconds;
        this.syncSeconds = syncSeconds;
        this.plotCpuSeconds = plotCpuSeconds;
    }

    /** Plots {@code params} for {@code device} into {@code file} (created or truncated), then syncs it. */
    public static PosPlot create(Path file, DeviceId device, PlotParams params, Progress progress) throws IOException {
        byte[] id = Plot.id(device, params);
        int depth = Plot.depth(params.leaves());
        int low = Math.min(LOW_LEVEL, depth);
        byte[][] levels = new byte[depth + 1][];
        for (int l = low; l <= depth; l++) {
            levels[l] = new byte[Math.toIntExact((params.leaves() >> l) * Plot.CHUNK)];
        }
        var tree = new MerkleBuilder(params.leaves(), (level, index, hash) -> {
            if (level >= low) {
                System.arraycopy(hash, 0, levels[level], Math.toIntExact(index * Plot.CHUNK), Plot.CHUNK);
            }
        });
        var channel = FileChannel.open(
                file,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            long start = System.nanoTime();
            long cpu = cpuNanos();
            compute(id, params, 0, params.leaves(), channel, channel, leaf -> tree.add(Plot.leafHash(leaf)), progress);
            long computed = System.nanoTime();
            double cpuSeconds = (cpuNanos() - cpu) / 1e9;
            channel.force(true);
            long synced = System.nanoTime();
            return new PosPlot(
                    file,
                    params,
                    id,
                    channel,
                    low,
                    levels,
                    tree.root(),
                    (computed - start) / 1e9,
                    (synced - computed) / 1e9,
                    cpuSeconds);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Computes leaves {@code from} to {@code to - 1} into {@code out} (at their own offsets), the way
     * a plotter does and a cheater must: leaves below {@code from} (leaf {@code from - 1} and
     * parents) are read from {@code prefix}, later ones from {@code out} or the batch not yet
     * written. Each leaf is handed to {@code sink} (its array is reused after the call). Returns
     * the last leaf computed.
     */
    public static byte[] compute(
            byte[] id,
            PlotParams params,
            long from,
            long to,
            FileChannel prefix,
            FileChannel out,
            java.util.function.Consumer<byte[]> sink,
            Progress progress)
            throws IOException {
        int size = params.leafSize();
        int batchLeaves = Math.max(1, BATCH_BYTES / size);
        byte[] batch = new byte[batchLeaves * size];
        MessageDigest md = Sha256.newDigest();
        byte[] previous = from > 0 ? readLeaf(prefix, from - 1, size) : null;
        byte[] parent = new byte[size];
        byte[] leaf = new byte[size];
        byte[] spare = new byte[size];
        long batchStart = from;
        long nextReport = from;
        long step = Math.max(1, (to - from) / 200);
        for (long i = from; i < to; i++) {
            byte[] p = null;
            if (i > 0) {
                long at = Plot.parent(id, i);
                if (at >= batchStart) {
                    System.arraycopy(batch, Math.toIntExact((at - batchStart) * size), parent, 0, size);
                } else {
                    read(at >= from ? out : prefix, at * size, parent);
                }
                p = parent;
            }
            Plot.label(id, i, previous, p, leaf, md);
            System.arraycopy(leaf, 0, batch, Math.toIntExact((i - batchStart) * size), size);
            sink.accept(leaf);
            byte[] done = leaf;
            leaf = previous != null ? previous : spare;
            previous = done;
            if (i + 1 - batchStart == batchLeaves || i + 1 == to) {
                write(out, batchStart * size, batch, Math.toIntExact((i + 1 - batchStart) * size));
                batchStart = i + 1;
            }
            if (i >= nextReport) {
                progress.at(i - from, to - from);
                nextReport = i + step;
            }
        }
        progress.at(to - from, to - from);
        return previous == null ? new byte[0] : previous.clone();
    }

    /** Leaf {@code index} of a plot file. */
    public static byte[] readLeaf(FileChannel channel, long index, int size) throws IOException {
        byte[] leaf = new byte[size];
        read(channel, index * size, leaf);
        return leaf;
    }

    private static void read(FileChannel channel, long position, byte[] into) throws IOException {
        var buf = ByteBuffer.wrap(into);
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) {
                throw new EOFException("plot file ends before byte " + (position + into.length));
            }
        }
    }

    private static void write(FileChannel channel, long position, byte[] from, int length) throws IOException {
        var buf = ByteBuffer.wrap(from, 0, length);
        while (buf.hasRemaining()) {
            channel.write(buf, position + buf.position());
        }
    }

    public Path file() {
        return file;
    }

    public PlotCommitment commitment() {
        return commitment;
    }

    public PlotParams params() {
        return params;
    }

    public byte[] id() {
        return id.clone();
    }

    public FileChannel channel() {
        return channel;
    }

    public double plotSeconds() {
        return plotSeconds;
    }

    public double plotCpuSeconds() {
        return plotCpuSeconds;
    }

    /**
     * CPU time of the calling thread in nanoseconds (wall time where the JVM cannot tell): on a
     * shared machine the time a step would take on a core of its own.
     */
    public static long cpuNanos() {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        return mx.isCurrentThreadCpuTimeSupported() ? mx.getCurrentThreadCpuTime() : System.nanoTime();
    }

    public double syncSeconds() {
        return syncSeconds;
    }

    /** Reads a group of leaves at {@code position} into {@code into} (a source of leaf bytes). */
    @FunctionalInterface
    public interface GroupReader {
        void read(long position, byte[] into) throws IOException;
    }

    /** The honest answer to the audit of {@code nonce} with {@code k} leaves, read through the page cache. */
    public AuditAnswer answer(byte[] nonce, int k) throws IOException {
        return answer(nonce, k, (position, into) -> read(channel, position, into));
    }

    /** As {@link #answer(byte[], int)}, reading the leaf groups with {@code reader}. */
    public AuditAnswer answer(byte[] nonce, int k, GroupReader reader) throws IOException {
        var openings = new ArrayList<AuditAnswer.Opening>();
        int group = 1 << low;
        int size = params.leafSize();
        byte[] bytes = new byte[group * size];
        byte[][] hashes = new byte[group][];
        for (long i : Audit.openings(id, Audit.indices(nonce, commitment, k))) {
            long first = i & -group;
            reader.read(first * size, bytes);
            var md = Sha256.newDigest();
            for (int g = 0; g < group; g++) {
                md.update((byte) 0);
                md.update(bytes, g * size, size);
                hashes[g] = md.digest();
            }
            openings.add(new AuditAnswer.Opening(
                    java.util.Arrays.copyOfRange(
                            bytes, Math.toIntExact((i - first) * size), Math.toIntExact((i - first + 1) * size)),
                    path(i, hashes)));
        }
        return AuditAnswer.of(openings);
    }

    /** The path of leaf {@code i}: the lowest levels from its group's leaf hashes, the rest stored. */
    private List<byte[]> path(long i, byte[][] groupHashes) {
        var out = new ArrayList<byte[]>();
        byte[][] level = groupHashes;
        int within = Math.toIntExact(i & ((1L << low) - 1));
        for (int l = 0; l < low; l++) {
            out.add(level[within ^ 1]);
            byte[][] up = new byte[level.length / 2][];
            for (int j = 0; j < up.length; j++) {
                up[j] = Plot.node(level[2 * j], level[2 * j + 1]);
            }
            level = up;
            within >>= 1;
        }
        int depth = Plot.depth(params.leaves());
        for (int l = low; l < depth; l++) {
            int at = Math.toIntExact(((i >> l) ^ 1) * Plot.CHUNK);
            out.add(java.util.Arrays.copyOfRange(levels[l], at, at + Plot.CHUNK));
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
