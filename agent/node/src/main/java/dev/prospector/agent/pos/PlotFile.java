package dev.prospector.agent.pos;

import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.Audit;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.Cbor;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.MerkleBuilder;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The board's plot on disk: written once in the background, resumable, then read to answer audits.
 *
 * <h2>Design notes</h2>
 * Three files in the data dir (covered by the data dir's lock, held by the agent):
 * <ul>
 *   <li>{@code plot.bin}: the leaves, leaf {@code i} at {@code i * leafSize}.
 *   <li>{@code plot.tree}: the Merkle levels from level {@value #STORED_FROM} up to the root, level
 *       after level, 32 bytes a node. The four lowest levels are not kept (they would be twice the
 *       leaves' hashes in size): a path's lowest four siblings are recomputed from the 16 leaves
 *       of the audited leaf's block, one 16-leaf read.
 *   <li>{@code plot.meta}: CBOR {@code {"v": 1, "dev", "seed", "n", "leaf", "done", "root"?}}, replaced
 *       atomically ({@link AtomicFiles}) at each checkpoint.
 * </ul>
 * <b>Checkpoints.</b> Every {@code checkpointBytes} of leaves (whole 16-leaf blocks) the leaves
 * and the tree are forced to the device, and only then the meta records the leaves done. After a
 * kill at any point, the meta names a prefix whose leaves and level-4 nodes are on disk; whatever
 * was written after it is recomputed and overwritten on resume (the plot function is
 * deterministic, so the root is that of an uninterrupted plot). The builder of the upper levels
 * is restored by feeding it the level-4 nodes of the prefix again (32 bytes per 16 leaves).
 *
 * <p><b>Damage.</b> A meta that does not decode, or files shorter than the meta says, or a
 * finished plot whose stored tree does not give its root: one log line, the files are removed and
 * a new plot is made with a new seed (a new commitment; the verifier audits the new one). A
 * different configured size re-plots the same way.
 *
 * <p><b>Being a good neighbour.</b> One thread at the lowest priority, paced by a {@link Throttle}
 * ({@code --plot-rate}; Linux ignores Java priorities without privileges, the throttle is what
 * counts), and never past the disk reserve: the space still to write is checked against the
 * usable space before plotting and at every checkpoint; short of it, plotting stops with one
 * clear line (the checkpoint stays, a restart with more room resumes).
 *
 * <p><b>Threads.</b> The plotting thread alone writes. {@link #answer} (the report thread) reads
 * with positional reads only once the commitment is set, after which nothing writes.
 */
public final class PlotFile implements PlotStore {
    public static final String BIN = "plot.bin";
    public static final String TREE = "plot.tree";
    public static final String META = "plot.meta";
    /** The lowest Merkle level kept in {@code plot.tree}: blocks of 16 leaves. */
    static final int STORED_FROM = 4;

    static final int BLOCK = 1 << STORED_FROM;
    /** Default bytes of leaves between checkpoints. */
    public static final long DEFAULT_CHECKPOINT_BYTES = 4L << 20;
    /** How often progress goes to the log. */
    static final Duration LOG_EVERY = Duration.ofSeconds(5);

    private static final int META_VERSION = 1;

    /**
     * @param bytes the plot's size (rounded down to a power of two leaves); at least 16 leaves
     * @param leafSize bytes of a leaf ({@link Plot#DEFAULT_LEAF_SIZE} on a board)
     * @param reserve bytes of the disk never filled
     * @param bytesPerSecond most bytes of leaves written a second; 0: unlimited
     * @param checkpointBytes bytes of leaves between checkpoints
     */
    public record Settings(long bytes, int leafSize, long reserve, long bytesPerSecond, long checkpointBytes) {
        public Settings {
            if (leafSize < Plot.MIN_LEAF_SIZE || leafSize > Plot.MAX_LEAF_SIZE || leafSize % Plot.CHUNK != 0) {
                throw new IllegalArgumentException("bad leaf size " + leafSize);
            }
            if (bytes < (long) BLOCK * leafSize) {
                throw new IllegalArgumentException(
                        "a plot has at least " + BLOCK + " leaves (" + BLOCK * leafSize + " bytes)");
            }
            if (reserve < 0 || bytesPerSecond < 0 || checkpointBytes <= 0) {
                throw new IllegalArgumentException("reserve, rate and checkpoint must not be negative");
            }
        }

        /** A board's plot of {@code bytes}: default leaves and checkpoints. */
        public static Settings of(long bytes, long reserve, long bytesPerSecond) {
            return new Settings(bytes, Plot.DEFAULT_LEAF_SIZE, reserve, bytesPerSecond, DEFAULT_CHECKPOINT_BYTES);
        }

        long leaves() {
            return Long.highestOneBit(bytes / leafSize);
        }
    }

    /** Bytes the file system can still give us (injected: tests fake a nearly full disk). */
    @FunctionalInterface
    public interface Disk {
        long usableSpace() throws IOException;

        /** The usable space of the file store holding {@code dir}. */
        static Disk of(Path dir) {
            return () -> Files.getFileStore(dir).getUsableSpace();
        }
    }

    /** Told after each checkpoint is durable (tests stop or "kill" the plotter there). */
    @FunctionalInterface
    public interface CheckpointListener {
        void checkpoint(long leavesDone);
    }

    /**
     * What the plot file uses from its surroundings.
     *
     * @param disk usable space of the data dir's disk
     * @param seeds a new plot's seed ({@link PlotParams#SEED_BYTES} random bytes)
     * @param ticker the clock and sleep of the throttle and the progress
     * @param onCheckpoint told after each checkpoint
     */
    public record Environment(
            Disk disk, Supplier<byte[]> seeds, Throttle.Ticker ticker, CheckpointListener onCheckpoint) {
        /** The real disk, random seeds, the system clock. */
        public static Environment real(Path dir) {
            SecureRandom random = new SecureRandom();
            return new Environment(
                    Disk.of(dir),
                    () -> {
                        byte[] s = new byte[PlotParams.SEED_BYTES];
                        random.nextBytes(s);
                        return s;
                    },
                    Throttle.Ticker.system(),
                    done -> {});
        }

        public Environment withDisk(Disk d) {
            return new Environment(d, seeds, ticker, onCheckpoint);
        }

        public Environment withSeeds(Supplier<byte[]> s) {
            return new Environment(disk, s, ticker, onCheckpoint);
        }

        public Environment withTicker(Throttle.Ticker t) {
            return new Environment(disk, seeds, t, onCheckpoint);
        }

        public Environment withCheckpointListener(CheckpointListener l) {
            return new Environment(disk, seeds, ticker, l);
        }
    }

    /** What plot.meta records. */
    record Meta(String device, PlotParams params, long done, Optional<byte[]> root) {
        byte[] encode() {
            var m = Cbor.map()
                    .put("v", new Cbor.Int(META_VERSION))
                    .put("dev", new Cbor.Text(device))
                    .put("seed", new Cbor.Bytes(params.seed()))
                    .put("n", new Cbor.Int(params.leaves()))
                    .put("leaf", new Cbor.Int(params.leafSize()))
                    .put("done", new Cbor.Int(done));
            root.ifPresent(r -> m.put("root", new Cbor.Bytes(r)));
            return Cbor.encode(m.build());
        }

        static Meta decode(byte[] bytes) throws IOException {
            try {
                if (!(Cbor.decode(bytes) instanceof Cbor.MapValue m)) {
                    throw new IOException("not a CBOR map");
                }
                if (uint(m, "v") != META_VERSION) {
                    throw new IOException("unknown version");
                }
                if (!(m.get("dev").orElse(null) instanceof Cbor.Text dev)) {
                    throw new IOException("no device");
                }
                if (!(m.get("seed").orElse(null) instanceof Cbor.Bytes seed)) {
                    throw new IOException("no seed");
                }
                PlotParams p = new PlotParams(seed.value(), uint(m, "n"), Math.toIntExact(uint(m, "leaf")));
                Optional<byte[]> root = Optional.empty();
                if (m.get("root").isPresent()) {
                    if (!(m.get("root").get() instanceof Cbor.Bytes r) || r.value().length != Plot.CHUNK) {
                        throw new IOException("root is not 32 bytes");
                    }
                    root = Optional.of(r.value());
                }
                long done = uint(m, "done");
                if (done > p.leaves() || done % BLOCK != 0 || root.isPresent() != (done == p.leaves())) {
                    throw new IOException("done " + done + " does not fit the plot");
                }
                return new Meta(dev.value(), p, done, root);
            } catch (MalformedReportException | IllegalArgumentException | ArithmeticException e) {
                throw new IOException(e.getMessage(), e);
            }
        }

        private static long uint(Cbor.MapValue m, String key) throws IOException {
            if (!(m.get(key).orElse(null) instanceof Cbor.Int i) || i.value() < 0) {
                throw new IOException(key + " missing");
            }
            return i.value();
        }
    }

    private final Path dir;
    private final DeviceId device;
    private final Settings settings;
    private final Environment env;
    private final Object lifecycle = new Object();

    private volatile PlotParams params;
    private volatile byte[] id;
    private volatile long done;
    private volatile PlotCommitment commitment;
    private volatile Progress progress;
    private volatile boolean stopping;
    private volatile FileChannel bin;
    private volatile FileChannel tree;
    private Thread thread;

    private PlotFile(Path dir, DeviceId device, Settings settings, Environment env) {
        this.dir = dir;
        this.device = device;
        this.settings = settings;
        this.env = env;
    }

    /**
     * Opens the plot in {@code dir}: a finished one is committed at once; an unfinished one resumes
     * from its checkpoint when {@link #plot()} runs; a damaged one, or one of another size, is
     * replaced by a new one. Reads only the meta and the stored tree.
     */
    public static PlotFile open(Path dir, DeviceId device, Settings settings, Environment env) throws IOException {
        PlotFile f = new PlotFile(dir, device, settings, env);
        f.load();
        return f;
    }

    private void load() throws IOException {
        Optional<Meta> meta = readMeta();
        long leaves = settings.leaves();
        if (meta.isPresent() && !meta.get().device().equals(device.value())) {
            Logger.info(
                    "the plot in {} is another device's ({}): plotting a new one with a new seed",
                    dir,
                    meta.get().device());
            meta = Optional.empty();
            removeFiles();
        }
        if (meta.isPresent()
                && (meta.get().params().leaves() != leaves
                        || meta.get().params().leafSize() != settings.leafSize())) {
            Logger.info(
                    "the plot in {} has {} bytes but --plot-size asks for {}: plotting a new one with a new seed",
                    dir,
                    meta.get().params().bytes(),
                    leaves * settings.leafSize());
            meta = Optional.empty();
            removeFiles();
        }
        if (meta.isEmpty()) {
            if (Files.exists(dir.resolve(BIN)) || Files.exists(dir.resolve(TREE))) {
                removeFiles();
            }
            start(new PlotParams(env.seeds().get(), leaves, settings.leafSize()), 0);
            writeMeta(0, Optional.empty());
        } else {
            start(meta.get().params(), meta.get().done());
            try {
                checkSizes();
                if (meta.get().root().isPresent()) {
                    byte[] root = rootFromTree();
                    if (!MessageDigest.isEqual(root, meta.get().root().get())) {
                        throw new IOException("the stored tree does not give the recorded root");
                    }
                    commitment = new PlotCommitment(params, root);
                }
            } catch (IOException e) {
                damaged(e.getMessage());
            }
        }
        progress = commitment != null
                ? new Progress(State.DONE, params.bytes(), params.bytes(), 0, Duration.ZERO, "done")
                : new Progress(
                        State.PLOTTING, done * params.leafSize(), params.bytes(), 0, Duration.ZERO, "waiting to plot");
    }

    private Optional<Meta> readMeta() {
        Path file = dir.resolve(META);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            Logger.warn("{} cannot be read ({}): plotting a new plot with a new seed", file, e.getMessage());
            return Optional.empty();
        }
        try {
            return Optional.of(Meta.decode(bytes));
        } catch (IOException e) {
            Logger.warn(
                    "{} is damaged ({}): plotting a new plot with a new seed (a new commitment)", file, e.getMessage());
            return Optional.empty();
        }
    }

    private void damaged(String why) throws IOException {
        Logger.warn("the plot in {} is damaged ({}): plotting a new plot with a new seed (a new commitment)", dir, why);
        closeChannels();
        removeFiles();
        start(new PlotParams(env.seeds().get(), settings.leaves(), settings.leafSize()), 0);
        writeMeta(0, Optional.empty());
    }

    private void start(PlotParams p, long leavesDone) throws IOException {
        params = p;
        id = Plot.id(device, p);
        done = leavesDone;
        bin = FileChannel.open(
                dir.resolve(BIN), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        tree = FileChannel.open(
                dir.resolve(TREE), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    private void checkSizes() throws IOException {
        long needBin = done * params.leafSize();
        long needTree = done == params.leaves() ? treeBytes(params.leaves()) : 32 * (done / BLOCK);
        if (bin.size() < needBin) {
            throw new IOException(BIN + " has " + bin.size() + " bytes, the checkpoint needs " + needBin);
        }
        if (tree.size() < needTree) {
            throw new IOException(TREE + " has " + tree.size() + " bytes, the checkpoint needs " + needTree);
        }
    }

    private void removeFiles() throws IOException {
        for (String f : List.of(BIN, TREE, META)) {
            Files.deleteIfExists(dir.resolve(f));
        }
    }

    // ------------------------------------------------------------------------------- the tree file

    /** Bytes of {@code plot.tree} for {@code n} leaves: levels 4 up to the root. */
    static long treeBytes(long n) {
        return 32L * (2 * (n >> STORED_FROM) - 1);
    }

    /** Offset of node {@code index} of {@code level >= 4} in {@code plot.tree}. */
    private long treeOffset(int level, long index) {
        long n = params.leaves();
        long off = 0;
        for (int l = STORED_FROM; l < level; l++) {
            off += n >> l;
        }
        return 32L * (off + index);
    }

    private byte[] rootFromTree() throws IOException {
        long blocks = params.leaves() / BLOCK;
        var b = new MerkleBuilder(blocks);
        feedStoredBlocks(b, blocks);
        return b.root();
    }

    /** Feeds the first {@code blocks} stored level-4 nodes to {@code b}. */
    private void feedStoredBlocks(MerkleBuilder b, long blocks) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(32 * 1024);
        long read = 0;
        while (read < blocks) {
            int want = (int) Math.min(buf.capacity() / 32, blocks - read);
            buf.clear().limit(want * 32);
            readFully(tree, buf, 32 * read, TREE);
            for (int j = 0; j < want; j++) {
                byte[] node = new byte[32];
                buf.get(j * 32, node);
                b.add(node);
            }
            read += want;
        }
    }

    // ------------------------------------------------------------------------------- plotting

    /** Plots in the background on a daemon thread of the lowest priority; no-op when done. */
    public void start(String name) {
        synchronized (lifecycle) {
            if (commitment != null || thread != null || stopping) {
                return;
            }
            thread = new Thread(this::plotSafely, name);
            thread.setDaemon(true);
            thread.setPriority(Thread.MIN_PRIORITY);
            thread.start();
        }
    }

    private void plotSafely() {
        try {
            plot();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            if (!stopping) {
                stop("the plot files cannot be written: " + e.getMessage());
            }
        } catch (Throwable e) { // an Error too: the plot thread ends, and says why
            stop("plotting failed: " + e);
            Logger.debug(e);
        }
    }

    private void stop(String why) {
        Logger.error("plotting stopped: {}", why);
        progress = new Progress(State.STOPPED, done * params.leafSize(), params.bytes(), 0, Duration.ZERO, why);
    }

    /**
     * Writes the leaves from the last checkpoint to the end (the calling thread; {@link #start}
     * runs it in the background). Returns when done, stopped by {@link #close}, or short of disk.
     */
    public void plot() throws IOException, InterruptedException {
        if (commitment != null) {
            return;
        }
        final int leafSize = params.leafSize();
        final long n = params.leaves();
        final long checkpointLeaves = Math.max(BLOCK, settings.checkpointBytes() / leafSize / BLOCK * BLOCK);
        if (!roomFor(done)) {
            return;
        }
        var builder = new MerkleBuilder(n / BLOCK, (level, index, hash) -> writeNode(level + STORED_FROM, index, hash));
        // Restore the upper levels' builder from the prefix's level-4 nodes (rewriting the same nodes).
        feedStoredBlocks(builder, done / BLOCK);
        MessageDigest md = Sha256.newDigest();
        MessageDigest hasher = Sha256.newDigest();
        byte[] previous = new byte[leafSize];
        byte[] leaf = new byte[leafSize];
        byte[] parent = new byte[leafSize];
        byte[] block = new byte[BLOCK * leafSize];
        byte[][] hashes = new byte[BLOCK][Plot.CHUNK];
        if (done > 0) {
            readLeaf(done - 1, previous);
        }
        Throttle throttle = new Throttle(settings.bytesPerSecond(), env.ticker());
        Rate rate = new Rate(env.ticker().nanoTime(), done * leafSize);
        Logger.info(
                "{} the plot in {}: {} MiB ({} leaves), {} MiB/s at most, keeping {} MiB of the disk free",
                done == 0 ? "starting" : "resuming at " + (done * 100 / n) + "%",
                dir,
                params.bytes() >> 20,
                n,
                settings.bytesPerSecond() == 0 ? "unlimited" : settings.bytesPerSecond() / (double) (1 << 20),
                settings.reserve() >> 20);
        for (long i = done; i < n; i++) {
            if (stopping) {
                return;
            }
            long blockStart = i - (i % BLOCK);
            if (i > 0) {
                long p = Plot.parent(id, i);
                if (p >= blockStart) {
                    System.arraycopy(block, (int) (p - blockStart) * leafSize, parent, 0, leafSize);
                } else {
                    readLeaf(p, parent);
                }
            }
            Plot.label(id, i, i > 0 ? previous : null, i > 0 ? parent : null, leaf, md);
            int slot = (int) (i - blockStart);
            System.arraycopy(leaf, 0, block, slot * leafSize, leafSize);
            leafHash(hasher, leaf, hashes[slot]);
            byte[] swap = previous;
            previous = leaf;
            leaf = swap;
            if (slot == BLOCK - 1) {
                writeFully(bin, ByteBuffer.wrap(block), blockStart * leafSize);
                builder.add(subtree(hasher, hashes)[STORED_FROM][0]);
                throttle.pace(block.length);
                long through = i + 1;
                progress = rate.progress(env.ticker().nanoTime(), through * leafSize, params.bytes());
                if (through % checkpointLeaves == 0 || through == n) {
                    Optional<byte[]> root = through == n ? Optional.of(builder.root()) : Optional.empty();
                    checkpoint(through, root);
                    if (root.isPresent()) {
                        commitment = new PlotCommitment(params, root.get());
                        progress = new Progress(State.DONE, params.bytes(), params.bytes(), 0, Duration.ZERO, "done");
                        Logger.info("plot done: {}; the reports commit it from now on", commitment);
                    } else if (!roomFor(through)) {
                        return;
                    }
                    env.onCheckpoint().checkpoint(through);
                }
                if (rate.shouldLog(env.ticker().nanoTime())) {
                    Logger.info("{}", progress);
                }
            }
        }
    }

    /** Whether the disk has room for the rest of the plot above the reserve; else stops with why. */
    private boolean roomFor(long leavesDone) throws IOException {
        long written = Math.max(bin.size(), leavesDone * params.leafSize()) + tree.size();
        long remaining = Math.max(0, params.bytes() + treeBytes(params.leaves()) - written);
        long usable = env.disk().usableSpace();
        if (usable - remaining < settings.reserve()) {
            stop("the plot needs " + size(remaining) + " more but the disk of " + dir + " has " + size(usable)
                    + " free and --plot-reserve keeps " + size(settings.reserve())
                    + ": free space, lower --plot-size or --plot-reserve, then restart (plotting resumes)");
            return false;
        }
        return true;
    }

    /** Bytes as people read them: whole MiB from 10 MiB up, else KiB (rounded up). */
    static String size(long bytes) {
        return bytes >= (10L << 20) ? ((bytes + (1 << 20) - 1) >> 20) + " MiB" : ((bytes + 1023) >> 10) + " KiB";
    }

    private void checkpoint(long through, Optional<byte[]> root) throws IOException {
        bin.force(false);
        tree.force(false);
        writeMeta(through, root);
        done = through;
    }

    private void writeMeta(long through, Optional<byte[]> root) throws IOException {
        AtomicFiles.write(
                dir.resolve(META), new Meta(device.value(), params, through, root).encode(), AtomicFiles.OWNER_ONLY);
    }

    private void writeNode(int level, long index, byte[] hash) {
        try {
            writeFully(tree, ByteBuffer.wrap(hash), treeOffset(level, index));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Levels 0..4 of the subtree over 16 leaf hashes. */
    private static byte[][][] subtree(MessageDigest md, byte[][] hashes) {
        byte[][][] levels = new byte[STORED_FROM + 1][][];
        levels[0] = hashes;
        for (int l = 1; l <= STORED_FROM; l++) {
            byte[][] below = levels[l - 1];
            byte[][] up = new byte[below.length / 2][];
            for (int j = 0; j < up.length; j++) {
                md.reset();
                md.update((byte) 1);
                md.update(below[2 * j]);
                md.update(below[2 * j + 1]);
                up[j] = md.digest();
            }
            levels[l] = up;
        }
        return levels;
    }

    private static void leafHash(MessageDigest md, byte[] leaf, byte[] out) {
        md.reset();
        md.update((byte) 0);
        md.update(leaf);
        try {
            md.digest(out, 0, Plot.CHUNK);
        } catch (DigestException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Rate and time left over the last few seconds, and when to log. */
    private static final class Rate {
        private long sampleNanos;
        private long sampleBytes;
        private double bytesPerSecond;
        private long loggedNanos;

        Rate(long now, long bytes) {
            this.sampleNanos = now;
            this.sampleBytes = bytes;
            this.loggedNanos = now;
        }

        Progress progress(long now, long bytes, long total) {
            long elapsed = now - sampleNanos;
            if (elapsed >= 1_000_000_000L) {
                bytesPerSecond = (bytes - sampleBytes) * 1e9 / elapsed;
                sampleNanos = now;
                sampleBytes = bytes;
            }
            Duration left =
                    bytesPerSecond > 0 ? Duration.ofSeconds((long) ((total - bytes) / bytesPerSecond)) : Duration.ZERO;
            return new Progress(State.PLOTTING, bytes, total, bytesPerSecond, left, "plotting");
        }

        boolean shouldLog(long now) {
            if (now - loggedNanos >= LOG_EVERY.toNanos()) {
                loggedNanos = now;
                return true;
            }
            return false;
        }
    }

    // ------------------------------------------------------------------------------- audits

    @Override
    public Optional<PlotCommitment> commitment() {
        return Optional.ofNullable(commitment);
    }

    @Override
    public Progress progress() {
        return progress;
    }

    @Override
    public AuditAnswer answer(byte[] nonce, int k) throws IOException {
        PlotCommitment c = commitment;
        if (c == null) {
            throw new IOException("no committed plot yet (" + progress + ")");
        }
        var openings = new ArrayList<AuditAnswer.Opening>();
        for (long i : Audit.openings(id, Audit.indices(nonce, c, k))) {
            byte[] leaf = new byte[params.leafSize()];
            readLeaf(i, leaf);
            openings.add(new AuditAnswer.Opening(leaf, path(i)));
        }
        return AuditAnswer.of(openings);
    }

    /** The Merkle path of leaf {@code i}: four siblings from its block, the rest from the tree file. */
    List<byte[]> path(long i) throws IOException {
        int leafSize = params.leafSize();
        long blockStart = i - (i % BLOCK);
        byte[] block = new byte[BLOCK * leafSize];
        readFully(bin, ByteBuffer.wrap(block), blockStart * leafSize, BIN);
        MessageDigest md = Sha256.newDigest();
        byte[][] hashes = new byte[BLOCK][Plot.CHUNK];
        byte[] leaf = new byte[leafSize];
        for (int j = 0; j < BLOCK; j++) {
            System.arraycopy(block, j * leafSize, leaf, 0, leafSize);
            leafHash(md, leaf, hashes[j]);
        }
        byte[][][] levels = subtree(md, hashes);
        var out = new ArrayList<byte[]>();
        int at = (int) (i - blockStart);
        for (int l = 0; l < STORED_FROM; l++) {
            out.add(levels[l][(at >> l) ^ 1]);
        }
        int depth = Plot.depth(params.leaves());
        for (int l = STORED_FROM; l < depth; l++) {
            byte[] node = new byte[Plot.CHUNK];
            readFully(tree, ByteBuffer.wrap(node), treeOffset(l, (i >> l) ^ 1), TREE);
            out.add(node);
        }
        return out;
    }

    private void readLeaf(long i, byte[] into) throws IOException {
        readFully(bin, ByteBuffer.wrap(into), i * params.leafSize(), BIN);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, String name) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new IOException(name + " ends at " + at + ", before the data the plot needs");
            }
            at += n;
        }
        buf.flip();
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            at += ch.write(buf, at);
        }
    }

    /** The plot's parameters (tests). */
    PlotParams params() {
        return params;
    }

    /** Stops plotting (waits for the thread) and closes the files; the checkpoint stays for a resume. */
    @Override
    public void close() {
        Thread t;
        synchronized (lifecycle) {
            stopping = true;
            t = thread;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(Duration.ofSeconds(10).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeChannels();
    }

    private void closeChannels() {
        for (FileChannel ch : new FileChannel[] {bin, tree}) {
            try {
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException e) {
                Logger.debug("closing the plot: {}", e.toString());
            }
        }
    }
}
