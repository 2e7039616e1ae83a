package dev.prospector.bench;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.SizeConverter;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.pos.PlotFile;
import dev.prospector.attest.Audit;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench pos}: what proofs of service cost (issue 12), with attest's plot function
 * and audits, the board's plotter (agent/node's {@link PlotFile}) and a minimal plotter of the
 * benchmark's own ({@link PosPlot}, whose plot the cheaters and the verifier use). Four parts:
 * <ol>
 *   <li>plotting: a real plot file of {@code --size}, with the board's {@link PlotFile} (its
 *       checkpoints and {@code plot.tree} included) and with {@link PosPlot} (MiB/s to the page
 *       cache and with the final fsync); both give the same root, and the board's plot answers
 *       audits too;
 *   <li>what a cheater pays: recomputing leaves instead of storing them, from the seed alone up to
 *       the highest of {@code k} audited leaves, and the whole tail for a cheater that kept only the
 *       first 50 % or 90 %; per leaf, and how much of a plot can be recomputed within the audit deadline;
 *   <li>an honest board's audit answer: the {@code 3k} openings read back with positional reads,
 *       paths from the stored levels plus the 16 leaves around each opening (through the page cache,
 *       and with {@code O_DIRECT} where the file system allows it);
 *   <li>the verifier's checks, one storage proof ({@link Audit#check}) and one bandwidth receipt
 *       ({@link BandwidthReceipt#open} and {@code signedBy}), each against one Ed25519 verification
 *       (Bouncy Castle, as {@code bench crypto}) measured in alternating slices of one run: the
 *       ratios are medians over rounds.
 * </ol>
 */
@Command(
        name = "pos",
        mixinStandardHelpOptions = true,
        description = {
            "Measure what proofs of service cost.",
            "Plotting, recomputing leaves instead of storing them, honest audit answers, and the verifier's checks.",
            "Writes a plot file of --size (and a scratch file as large) in --dir, and removes them at the end."
        })
public final class BenchPosCommand implements Callable<Integer> {
    /** Shares of the plot a tail cheater kept. */
    static final int[] KEPT_PERCENT = {50, 90};
    /** Distinct audit answers and receipts the verifier checks in turn. */
    static final int ANSWER_POOL = 32;

    static final int RECEIPT_POOL = 256;
    static final int VERIFY_POOL = 256;
    private static final long GIB = 1L << 30;
    private static final double MIB = 1 << 20;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(
            names = "--size",
            defaultValue = "256M",
            converter = SizeConverter.class,
            paramLabel = "SIZE",
            description = "Plot size: rounded down to a power of two leaves (default: ${DEFAULT-VALUE}).")
    long size;

    @Option(
            names = "--leaf-size",
            defaultValue = "1024",
            paramLabel = "BYTES",
            description = "Leaf size in bytes (default: ${DEFAULT-VALUE}).")
    int leafSize;

    @Option(
            names = "--dir",
            paramLabel = "DIR",
            description = "Where the plot and scratch files go (default: the temporary directory).")
    Path dir;

    @Option(
            names = "--audit-leaves",
            defaultValue = "8",
            paramLabel = "K",
            description = "Leaves an audit names (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(
            names = "--deadline",
            defaultValue = "2",
            paramLabel = "S",
            description =
                    "Audit deadline in seconds, for what a cheater can recompute in time (default: ${DEFAULT-VALUE}).")
    double deadline;

    @Option(
            names = "--proof-leaves",
            defaultValue = "1048576",
            paramLabel = "N",
            description = "Leaves of the plot whose storage proofs the verifier checks (default: ${DEFAULT-VALUE},"
                    + " paths of 20; plotted separately unless --size gives this many leaves).")
    long proofLeaves;

    @Option(
            names = "--answers",
            defaultValue = "64",
            paramLabel = "N",
            description = "Honest audit answers timed (default: ${DEFAULT-VALUE}).")
    int answers;

    @Option(
            names = "--rounds",
            defaultValue = "15",
            paramLabel = "N",
            description = "Rounds of the verifier's alternating slices (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
            names = "--slice",
            defaultValue = "0.2",
            paramLabel = "S",
            description = "Seconds per operation per round (default: ${DEFAULT-VALUE}).")
    double slice;

    private PrintWriter err;

    @Override
    public Integer call() throws IOException {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        Path base = dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"));
        Path work = Files.createTempDirectory(base, "prospector-bench-pos-");
        try {
            var device = DeviceKeys.generate().deviceId();
            var random = new SecureRandom();
            var params = PlotParams.fitting(seed(random), size, leafSize);
            long need = 2 * params.bytes() + (needsProofPlot(params) ? proofLeaves * Plot.DEFAULT_LEAF_SIZE : 0);
            long usable = Files.getFileStore(work).getUsableSpace();
            if (usable < need + GIB / 4) {
                throw new Failure("--dir " + work.getParent() + " has " + usable / (1 << 20)
                        + " MiB free; the bench needs " + need / (1 << 20) + " MiB and keeps 256 MiB spare");
            }
            var r = new Results();
            r.put("plot_bytes", params.bytes());
            r.put("leaves", params.leaves());
            r.put("leaf_size", params.leafSize());

            // (a) Plotting.
            note("plotting " + mib(params.bytes()) + " MiB (" + params.leaves() + " leaves of " + params.leafSize()
                    + " bytes) into " + work);
            try (var plot =
                    PosPlot.create(work.resolve("plot.bin"), device, params, reporter("plotting", params.bytes()))) {
                r.put("plot_seconds", round3(plot.plotSeconds()));
                r.put("plot_mib_per_s", round1(params.bytes() / MIB / plot.plotSeconds()));
                r.put("plot_fsync_seconds", round3(plot.syncSeconds()));
                r.put(
                        "plot_mib_per_s_with_fsync",
                        round1(params.bytes() / MIB / (plot.plotSeconds() + plot.syncSeconds())));
                r.put("plot_us_per_leaf", round3(plot.plotSeconds() * 1e6 / params.leaves()));
                r.put("plot_cpu_us_per_leaf", round3(plot.plotCpuSeconds() * 1e6 / params.leaves()));
                r.put("plot_mib_per_cpu_s", round1(params.bytes() / MIB / plot.plotCpuSeconds()));

                // (a) The board's plotter, the same plot (device and seed): the same root.
                boardPlot(plot, device, work.resolve("board"), random, r);

                // (b) What a cheater pays.
                cheaters(plot, work.resolve("scratch.bin"), random, r);

                // (c) An honest board's answer.
                honestAnswers(plot, device, random, r);

                // (d) The verifier's checks, over a plot of --proof-leaves leaves of 1 KiB.
                if (needsProofPlot(params)) {
                    var proofParams = new PlotParams(seed(random), proofLeaves, Plot.DEFAULT_LEAF_SIZE);
                    note("plotting " + mib(proofParams.bytes()) + " MiB more for the verifier's proofs (" + proofLeaves
                            + " leaves of 1 KiB, paths of " + Plot.depth(proofLeaves) + ")");
                    try (var proofPlot = PosPlot.create(
                            work.resolve("proof.bin"),
                            device,
                            proofParams,
                            reporter("plotting", proofParams.bytes()))) {
                        verifier(proofPlot, device, random, r);
                    }
                } else {
                    verifier(plot, device, random, r);
                }
            }
            r.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
            r.put(
                    "jvm_options",
                    String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
            r.put("os_arch", System.getProperty("os.arch"));
            print(out, r);
            return 0;
        } finally {
            deleteTree(work);
        }
    }

    private void validate() {
        if (leafSize < Plot.MIN_LEAF_SIZE || leafSize > Plot.MAX_LEAF_SIZE || leafSize % Plot.CHUNK != 0) {
            throw new Failure("--leaf-size must be a multiple of 32 from 64 to 4096, not " + leafSize);
        }
        if (size < 2L * leafSize || size > 16 * GIB) {
            throw new Failure("--size must be at least two leaves and at most 16G, not " + size);
        }
        if (k < 1 || k > Audit.MAX_LEAVES) {
            throw new Failure("--audit-leaves must be 1 to " + Audit.MAX_LEAVES + ", not " + k);
        }
        if (proofLeaves < 2 || Long.bitCount(proofLeaves) != 1 || proofLeaves > (1L << 24)) {
            throw new Failure("--proof-leaves must be a power of two from 2 to 2^24, not " + proofLeaves);
        }
        if (!(deadline > 0)
                || !(slice > 0)
                || slice > 60
                || rounds < 1
                || rounds > 1000
                || answers < 1
                || answers > 100_000) {
            throw new Failure("--deadline and --slice (at most 60) must be above 0; --rounds 1 to 1000;"
                    + " --answers 1 to 100000");
        }
    }

    private boolean needsProofPlot(PlotParams params) {
        return params.leaves() != proofLeaves || params.leafSize() != Plot.DEFAULT_LEAF_SIZE;
    }

    /**
     * Part (a), the board's side: agent/node's {@link PlotFile} plots the same plot (same device and
     * seed) in {@code boardDir} on this thread, unthrottled, with its checkpoints (an fsync of the
     * leaves and the tree every 4 MiB); its root must be {@code plot}'s. Then it answers audits.
     * The files are removed at the end, before the cheaters' scratch file is written.
     */
    private void boardPlot(PosPlot plot, DeviceId device, Path boardDir, SecureRandom random, Results r)
            throws IOException {
        var params = plot.params();
        if (params.leaves() < 16) {
            note("no board plot: PlotFile needs at least 16 leaves");
            return;
        }
        note("plotting it again with the board's plotter (PlotFile: plot.tree, a checkpoint every "
                + (PlotFile.DEFAULT_CHECKPOINT_BYTES >> 20) + " MiB) into " + boardDir);
        Files.createDirectories(boardDir);
        try {
            var env = PlotFile.Environment.real(boardDir).withSeeds(params::seed);
            var settings =
                    new PlotFile.Settings(params.bytes(), params.leafSize(), 0, 0, PlotFile.DEFAULT_CHECKPOINT_BYTES);
            try (var board = PlotFile.open(boardDir, device, settings, env)) {
                long start = System.nanoTime();
                long cpu = PosPlot.cpuNanos();
                try {
                    board.plot();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new Failure("interrupted while plotting");
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double cpuSeconds = (PosPlot.cpuNanos() - cpu) / 1e9;
                var commitment = board.commitment()
                        .orElseThrow(() ->
                                new IllegalStateException("the board's plotter did not finish: " + board.progress()));
                if (!Arrays.equals(commitment.root(), plot.commitment().root())) {
                    throw new IllegalStateException("the board's plotter and the bench's give different roots");
                }
                r.put("board_plot_seconds", round3(seconds));
                r.put("board_plot_mib_per_s", round1(params.bytes() / MIB / seconds));
                r.put("board_plot_us_per_leaf", round3(seconds * 1e6 / params.leaves()));
                r.put("board_plot_cpu_us_per_leaf", round3(cpuSeconds * 1e6 / params.leaves()));
                r.put("board_plot_mib_per_cpu_s", round1(params.bytes() / MIB / cpuSeconds));
                r.put("board_root_matches", true);
                note("answering " + answers + " audits with the board's plot");
                byte[][] nonces = nonces(random, answers + 16);
                for (int i = 0; i < 16; i++) {
                    check(plot, device, nonces[answers + i], board.answer(nonces[answers + i], k));
                }
                double[] ms = new double[answers];
                for (int i = 0; i < answers; i++) {
                    long t = System.nanoTime();
                    var a = board.answer(nonces[i], k);
                    ms[i] = (System.nanoTime() - t) / 1e6;
                    check(plot, device, nonces[i], a);
                }
                r.put("board_answer_ms_median", round3(median(ms)));
                r.put("board_answer_ms_p90", round3(quantile(ms, 0.9)));
            }
        } finally {
            deleteTree(boardDir);
        }
    }

    /** Part (b): recomputing instead of storing. The recomputed leaves go to a scratch file. */
    private void cheaters(PosPlot plot, Path scratchFile, SecureRandom random, Results r) throws IOException {
        var params = plot.params();
        byte[] id = plot.id();
        long n = params.leaves();
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        long highest =
                Arrays.stream(Audit.indices(nonce, plot.commitment(), k)).max().orElseThrow();
        r.put("audited_highest_index", highest);
        r.put("audited_highest_fraction", round3((highest + 1.0) / n));
        var perLeaf = new ArrayList<Double>();
        var perLeafCpu = new ArrayList<Double>();
        try (var scratch = FileChannel.open(
                scratchFile,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            note("cheater with the seed only: recomputing leaves 0.." + highest);
            double s = regenerate(plot, id, 0, highest + 1, scratch, "seed only");
            r.put("regen_seed_only_leaves", highest + 1);
            r.put("regen_seed_only_seconds", round3(s));
            r.put("regen_seed_only_us_per_leaf", round3(s * 1e6 / (highest + 1)));
            r.put("regen_seed_only_cpu_us_per_leaf", round3(lastCpuSeconds * 1e6 / (highest + 1)));
            perLeaf.add(s * 1e6 / (highest + 1));
            perLeafCpu.add(lastCpuSeconds * 1e6 / (highest + 1));
            for (int kept : KEPT_PERCENT) {
                long from = n * kept / 100;
                note("cheater that kept the first " + kept + " %: recomputing leaves " + from + ".." + (n - 1));
                double t = regenerate(plot, id, from, n, scratch, "kept " + kept + " %");
                r.put("regen_kept" + kept + "_leaves", n - from);
                r.put("regen_kept" + kept + "_seconds", round3(t));
                r.put("regen_kept" + kept + "_us_per_leaf", round3(t * 1e6 / (n - from)));
                r.put("regen_kept" + kept + "_cpu_us_per_leaf", round3(lastCpuSeconds * 1e6 / (n - from)));
                perLeaf.add(t * 1e6 / (n - from));
                perLeafCpu.add(lastCpuSeconds * 1e6 / (n - from));
            }
        } finally {
            Files.deleteIfExists(scratchFile);
        }
        // Within the deadline a cheater recomputes deadline / (time per leaf) leaves: the tail it may drop.
        double us = median(perLeaf.stream().mapToDouble(Double::doubleValue).toArray());
        long droppable = (long) (deadline * 1e6 / us);
        r.put("deadline_seconds", deadline);
        r.put("regen_us_per_leaf_median", round3(us));
        double cpuUs =
                median(perLeafCpu.stream().mapToDouble(Double::doubleValue).toArray());
        r.put("regen_cpu_us_per_leaf_median", round3(cpuUs));
        r.put(
                "droppable_mib_within_deadline_cpu",
                round1((long) (deadline * 1e6 / cpuUs) * (double) params.leafSize() / MIB));
        r.put("droppable_leaves_within_deadline", droppable);
        r.put("droppable_mib_within_deadline", round1(droppable * (double) params.leafSize() / MIB));
        r.put("droppable_share_of_1gib", round3(Math.min(1, droppable * (double) params.leafSize() / GIB)));
        r.put("seed_only_seconds_for_1gib_extrapolated", round1(us * (GIB / params.leafSize()) / 1e6));
    }

    /** CPU seconds of the last {@link #regenerate}. */
    private double lastCpuSeconds;

    /** Recomputes leaves {@code from..to-1} into {@code scratch} and checks the last against the plot. */
    private double regenerate(PosPlot plot, byte[] id, long from, long to, FileChannel scratch, String what)
            throws IOException {
        var params = plot.params();
        long start = System.nanoTime();
        long cpu = PosPlot.cpuNanos();
        byte[] last = PosPlot.compute(
                id,
                params,
                from,
                to,
                plot.channel(),
                scratch,
                leaf -> {},
                reporter("recomputing (" + what + ")", (to - from) * params.leafSize()));
        double seconds = (System.nanoTime() - start) / 1e9;
        lastCpuSeconds = (PosPlot.cpuNanos() - cpu) / 1e9;
        if (!Arrays.equals(last, PosPlot.readLeaf(plot.channel(), to - 1, params.leafSize()))) {
            throw new IllegalStateException("recomputed leaf " + (to - 1) + " differs from the plot's");
        }
        return seconds;
    }

    /** Part (c): an honest board's answers, through the page cache and with O_DIRECT. */
    private void honestAnswers(PosPlot plot, DeviceId device, SecureRandom random, Results r) throws IOException {
        note("answering " + answers + " audits of " + k + " leaves (" + 3 * k + " openings each)");
        int warm = Math.min(answers, 16);
        byte[][] nonces = nonces(random, answers + warm);
        for (int i = 0; i < warm; i++) {
            check(plot, device, nonces[answers + i], plot.answer(nonces[answers + i], k));
        }
        double[] ms = new double[answers];
        for (int i = 0; i < answers; i++) {
            long t = System.nanoTime();
            var a = plot.answer(nonces[i], k);
            ms[i] = (System.nanoTime() - t) / 1e6;
            check(plot, device, nonces[i], a);
        }
        r.put("answer_openings", a3k(plot));
        r.put("answer_ms_median", round3(median(ms)));
        r.put("answer_ms_p90", round3(quantile(ms, 0.9)));
        var direct = directAnswers(plot, device, nonces);
        r.put("answer_direct_ms_median", direct == null ? null : round3(median(direct)));
        r.put("answer_direct_ms_p90", direct == null ? null : round3(quantile(direct, 0.9)));
    }

    private int a3k(PosPlot plot) {
        return Audit.openings(plot.id(), Audit.indices(new byte[] {1}, plot.commitment(), k))
                .size();
    }

    /** The answers read with O_DIRECT (past the page cache), or null where the file system refuses it. */
    private double[] directAnswers(PosPlot plot, DeviceId device, byte[][] nonces) throws IOException {
        int groupBytes =
                (1 << Math.min(PosPlot.LOW_LEVEL, Plot.depth(plot.params().leaves())))
                        * plot.params().leafSize();
        int align = 4096;
        if (groupBytes % align != 0) {
            note("no O_DIRECT answers: a leaf group of " + groupBytes + " bytes is not a multiple of 4 KiB");
            return null;
        }
        Path file = plot.file();
        FileChannel direct;
        try {
            direct = FileChannel.open(file, StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            note("no O_DIRECT answers: " + e.getMessage());
            return null;
        }
        try (direct) {
            ByteBuffer buf = ByteBuffer.allocateDirect(groupBytes + align).alignedSlice(align);
            PosPlot.GroupReader reader = (position, into) -> {
                buf.clear().limit(into.length);
                while (buf.hasRemaining()) {
                    if (direct.read(buf, position + buf.position()) < 0) {
                        throw new java.io.EOFException("plot file too short");
                    }
                }
                buf.flip().get(into);
            };
            double[] ms = new double[answers];
            for (int i = 0; i < answers; i++) {
                long t = System.nanoTime();
                var a = plot.answer(nonces[i], k, reader);
                ms[i] = (System.nanoTime() - t) / 1e6;
                check(plot, device, nonces[i], a);
            }
            return ms;
        }
    }

    /** Every answer the bench makes must pass the verifier's check (outside the timed part). */
    private void check(PosPlot plot, DeviceId device, byte[] nonce, AuditAnswer answer) {
        var c = Audit.check(device, plot.commitment(), nonce, k, answer);
        if (!(c instanceof Audit.Check.Passed)) {
            throw new IllegalStateException("the bench's own honest answer failed: " + c);
        }
    }

    /** Part (d): Audit.check and a receipt's open + signedBy against Ed25519 verifications, in alternating slices. */
    private void verifier(PosPlot plot, DeviceId device, SecureRandom random, Results r) throws IOException {
        note("preparing " + ANSWER_POOL + " audit answers, " + RECEIPT_POOL + " receipts and " + VERIFY_POOL
                + " signed reports");
        PlotCommitment commitment = plot.commitment();
        byte[][] nonces = nonces(random, ANSWER_POOL);
        var pool = new AuditAnswer[ANSWER_POOL];
        for (int i = 0; i < ANSWER_POOL; i++) {
            pool[i] = plot.answer(nonces[i], k);
            check(plot, device, nonces[i], pool[i]);
        }
        int[] nextAnswer = {0};
        BooleanSupplier auditCheck = () -> {
            int i = nextAnswer[0]++ & (ANSWER_POOL - 1);
            return Audit.check(device, commitment, nonces[i], k, pool[i]) instanceof Audit.Check.Passed;
        };
        var endpoints = new DeviceKeys[] {
            DeviceKeys.generate(), DeviceKeys.generate(), DeviceKeys.generate(), DeviceKeys.generate()
        };
        byte[][] receipts = new byte[RECEIPT_POOL][];
        byte[][] receiptKeys = new byte[RECEIPT_POOL][];
        var directions = BandwidthReceipt.Direction.values();
        for (int i = 0; i < RECEIPT_POOL; i++) {
            var endpoint = endpoints[i % endpoints.length];
            byte[] nonce = new byte[16];
            random.nextBytes(nonce);
            receipts[i] = new BandwidthReceipt(
                            device,
                            nonce,
                            directions[i % directions.length],
                            8L << 20,
                            Duration.ofMillis(700 + i),
                            Instant.now())
                    .sign(endpoint);
            receiptKeys[i] = endpoint.publicKey();
        }
        int[] nextReceipt = {0};
        BooleanSupplier receiptCheck = () -> {
            int i = nextReceipt[0]++ & (RECEIPT_POOL - 1);
            try {
                var opened = BandwidthReceipt.open(receipts[i]);
                return opened.signedBy(receiptKeys[i])
                        && opened.receipt().device().equals(device);
            } catch (MalformedReportException e) {
                return false;
            }
        };
        var signed = EmulatedReports.signedStructures(16, VERIFY_POOL);
        int[] nextSig = {0};
        BooleanSupplier verify = () -> {
            int i = nextSig[0]++ & (VERIFY_POOL - 1);
            byte[] tbs = signed.tbs()[i];
            return Ed25519.verify(signed.sigs()[i], 0, signed.points()[i], tbs, 0, tbs.length);
        };
        BooleanSupplier verifyDecoding = () -> {
            int i = nextSig[0]++ & (VERIFY_POOL - 1);
            byte[] tbs = signed.tbs()[i];
            return Ed25519.verify(signed.sigs()[i], 0, signed.keys()[i], 0, tbs, 0, tbs.length);
        };
        var ops = new LinkedHashMap<String, BooleanSupplier>();
        ops.put("ed25519_verify", verify);
        ops.put("ed25519_verify_decoding_key", verifyDecoding);
        ops.put("audit_check", auditCheck);
        ops.put("receipt_check", receiptCheck);
        long sliceNanos = (long) (slice * 1e9);
        note("warming up the verifier's checks");
        for (var op : ops.values()) {
            timed(op, Math.max(sliceNanos, 1_000_000_000L));
        }
        var perOp = new LinkedHashMap<String, double[]>();
        ops.keySet().forEach(name -> perOp.put(name, new double[rounds]));
        var names = new ArrayList<>(ops.keySet());
        for (int round = 0; round < rounds; round++) {
            reporter("verifier rounds", rounds).at(round, rounds);
            // Rotate the order each round so that no operation always follows the same one.
            for (int j = 0; j < names.size(); j++) {
                String name = names.get((j + round) % names.size());
                perOp.get(name)[round] = timed(ops.get(name), sliceNanos);
            }
        }
        double[] auditRatio = new double[rounds];
        double[] receiptRatio = new double[rounds];
        double[] receiptRatioDecoding = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            auditRatio[i] = perOp.get("audit_check")[i] / perOp.get("ed25519_verify")[i];
            receiptRatio[i] = perOp.get("receipt_check")[i] / perOp.get("ed25519_verify")[i];
            receiptRatioDecoding[i] = perOp.get("receipt_check")[i] / perOp.get("ed25519_verify_decoding_key")[i];
        }
        r.put("proof_leaves", plot.params().leaves());
        r.put("proof_path_length", Plot.depth(plot.params().leaves()));
        r.put("proof_answer_bytes", answerBytes(pool[0]));
        r.put("receipt_bytes", receipts[0].length);
        for (var e : perOp.entrySet()) {
            r.put(e.getKey() + "_us", round3(median(e.getValue()) / 1e3));
        }
        r.put("audit_check_per_verify", round3(median(auditRatio)));
        r.put("audit_check_per_verify_p25", round3(quantile(auditRatio, 0.25)));
        r.put("audit_check_per_verify_p75", round3(quantile(auditRatio, 0.75)));
        r.put("receipt_check_per_verify", round3(median(receiptRatio)));
        r.put("receipt_check_per_verify_p25", round3(quantile(receiptRatio, 0.25)));
        r.put("receipt_check_per_verify_p75", round3(quantile(receiptRatio, 0.75)));
        r.put("receipt_check_per_verify_decoding_key", round3(median(receiptRatioDecoding)));
        r.put("verifier_rounds", rounds);
        r.put("verifier_slice_seconds", slice);
    }

    private static int answerBytes(AuditAnswer a) {
        int bytes = 0;
        for (var o : a.openings()) {
            bytes += o.leaf().length + o.path().size() * Plot.CHUNK;
        }
        return bytes;
    }

    /** Nanoseconds per call of {@code op}, called in a loop for about {@code nanos}. */
    private static double timed(BooleanSupplier op, long nanos) {
        long start = System.nanoTime();
        long end = start + nanos;
        long count = 0;
        long now;
        do {
            for (int i = 0; i < 8; i++) {
                if (!op.getAsBoolean()) {
                    throw new IllegalStateException("a benchmarked check failed");
                }
            }
            count += 8;
            now = System.nanoTime();
        } while (now < end);
        return (now - start) / (double) count;
    }

    private static byte[] seed(SecureRandom random) {
        byte[] seed = new byte[PlotParams.SEED_BYTES];
        random.nextBytes(seed);
        return seed;
    }

    private static byte[][] nonces(SecureRandom random, int n) {
        byte[][] out = new byte[n][16];
        for (byte[] nonce : out) {
            random.nextBytes(nonce);
        }
        return out;
    }

    /** Progress on stderr, at most every 2 s: done, rate, time left. */
    private PosPlot.Progress reporter(String what, long total) {
        long start = System.nanoTime();
        long[] last = {start};
        return (done, of) -> {
            long now = System.nanoTime();
            if (now - last[0] < 2_000_000_000L || done == 0 || done >= of) {
                return;
            }
            last[0] = now;
            double secs = (now - start) / 1e9;
            double share = done / (double) of;
            err.printf(
                    Locale.ROOT,
                    "  %s: %.0f %%, %.1f MiB/s, %.0f s left%n",
                    what,
                    share * 100,
                    share * total / MIB / secs,
                    secs / share - secs);
            err.flush();
        };
    }

    private void note(String what) {
        err.println(what + " ...");
        err.flush();
    }

    private void print(PrintWriter out, Results r) {
        if (json) {
            var o = CBORObject.NewOrderedMap();
            r.values.forEach((key, v) -> o.Add(key, v == null ? CBORObject.Null : CBORObject.FromObject(v)));
            out.println(JsonOutput.of(o));
            out.flush();
            return;
        }
        var v = r.values;
        out.printf(
                Locale.ROOT,
                "Proofs of service: a plot of %s MiB (%s leaves of %s bytes), audits of %d leaves%n",
                mib((long) v.get("plot_bytes")),
                v.get("leaves"),
                v.get("leaf_size"),
                k);
        row(out, "plotting, the board's PlotFile (with its checkpoints)", v.get("board_plot_mib_per_s"), "MiB/s");
        row(out, "  per leaf", v.get("board_plot_us_per_leaf"), "us");
        row(out, "  in CPU time of the plotting thread", v.get("board_plot_cpu_us_per_leaf"), "us");
        row(out, "plotting, PosPlot (compute + write to the page cache)", v.get("plot_mib_per_s"), "MiB/s");
        row(out, "plotting including the final fsync", v.get("plot_mib_per_s_with_fsync"), "MiB/s");
        row(out, "plotting per leaf", v.get("plot_us_per_leaf"), "us");
        row(out, "  in CPU time of the plotting thread", v.get("plot_cpu_us_per_leaf"), "us");
        row(out, "highest audited leaf (share of the plot)", v.get("audited_highest_fraction"), "");
        row(out, "cheater, seed only: recompute to the highest audited leaf", v.get("regen_seed_only_seconds"), "s");
        row(out, "  per leaf", v.get("regen_seed_only_us_per_leaf"), "us");
        for (int kept : KEPT_PERCENT) {
            row(
                    out,
                    "cheater, kept the first " + kept + " %: recompute the tail",
                    v.get("regen_kept" + kept + "_seconds"),
                    "s");
            row(out, "  per leaf", v.get("regen_kept" + kept + "_us_per_leaf"), "us");
        }
        row(
                out,
                "recomputing, per leaf in CPU time (median of the three)",
                v.get("regen_cpu_us_per_leaf_median"),
                "us");
        row(out, "recomputable within the " + deadline + " s deadline", v.get("droppable_mib_within_deadline"), "MiB");
        row(out, "  by CPU time (a core of its own)", v.get("droppable_mib_within_deadline_cpu"), "MiB");
        row(out, "  as a share of a 1 GiB plot", v.get("droppable_share_of_1gib"), "");
        row(out, "seed only, a whole 1 GiB plot (extrapolated)", v.get("seed_only_seconds_for_1gib_extrapolated"), "s");
        row(
                out,
                "honest answer, " + v.get("answer_openings") + " openings, page cache (median)",
                v.get("answer_ms_median"),
                "ms");
        row(out, "  p90", v.get("answer_ms_p90"), "ms");
        row(out, "honest answer, the board's PlotFile (median)", v.get("board_answer_ms_median"), "ms");
        row(out, "  p90", v.get("board_answer_ms_p90"), "ms");
        row(out, "honest answer with O_DIRECT reads (median)", v.get("answer_direct_ms_median"), "ms");
        row(out, "  p90", v.get("answer_direct_ms_p90"), "ms");
        row(out, "verifier: Ed25519 verify (key decoded once)", v.get("ed25519_verify_us"), "us");
        row(out, "verifier: Ed25519 verify (decoding the key)", v.get("ed25519_verify_decoding_key_us"), "us");
        row(out, "verifier: Audit.check, paths of " + v.get("proof_path_length"), v.get("audit_check_us"), "us");
        row(out, "  per Ed25519 verify (median of rounds)", v.get("audit_check_per_verify"), "x");
        row(out, "verifier: receipt open + signedBy", v.get("receipt_check_us"), "us");
        row(out, "  per Ed25519 verify (median of rounds)", v.get("receipt_check_per_verify"), "x");
        out.printf(Locale.ROOT, "%s; %s%n", v.get("java"), v.get("jvm_options"));
        out.flush();
    }

    private static void row(PrintWriter out, String what, Object value, String unit) {
        out.printf(Locale.ROOT, "  %-62s %12s %s%n", what, value == null ? "n/a" : value, unit);
    }

    /** Figures in the order they are printed. */
    private static final class Results {
        final Map<String, Object> values = new LinkedHashMap<>();

        void put(String key, Object value) {
            values.put(key, value);
        }
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    static double median(double[] values) {
        return quantile(values, 0.5);
    }

    /** The {@code q} quantile, interpolated between the nearest ranks (the median of an even count is the mean of the middle two). */
    static double quantile(double[] values, double q) {
        double[] v = values.clone();
        Arrays.sort(v);
        if (v.length == 0) {
            return Double.NaN;
        }
        double at = q * (v.length - 1);
        int lo = (int) Math.floor(at);
        int hi = (int) Math.ceil(at);
        return v[lo] + (v[hi] - v[lo]) * (at - lo);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
