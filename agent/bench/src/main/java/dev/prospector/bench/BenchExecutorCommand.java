package dev.prospector.bench;

import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.common.Failure;
import dev.prospector.ledger.ExecutorBenchmark;
import dev.prospector.ledger.TxEncodingBenchmark;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench executor}: the ledger executor's figures, sequential against parallel
 * at 1..cores threads, at low, medium and full contention, with and without signature checks.
 * With {@code --json}, stdout is exactly a JSON array of rows; the summary goes to stderr.
 */
@Command(
        name = "executor",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the ledger shard's executor, sequential against parallel.",
            "At low, medium and full contention, with and without signature checks.",
            "Exits 1 when a figure misses its target (each printed with it) or when two rows of one contention level"
                    + " end in different state roots."
        },
        subcommands = {PhaseProfile.class, ExecutorComparison.class, BenchExecutorCommand.Encoding.class})
public final class BenchExecutorCommand implements Callable<Integer> {
    /**
     * The figures a run must reach, checked on the medians in the summary; a miss makes the command
     * exit 1. The speed-up and throughput targets are for two or more threads.
     *
     * @param tpsExecRoot  execution and state root, 2 threads, low contention, signatures not checked: tx/s
     * @param speedupLow   parallel over sequential tx/s, low contention
     * @param speedupFull  parallel over sequential tx/s, full contention (every transfer pays one account)
     * @param verifyShare  full validation with signatures, over the all-core Ed25519 verify rate
     */
    record Targets(double tpsExecRoot, double speedupLow, double speedupFull, double verifyShare) {
        /** The targets of issue 6 (docs/LEDGER.md, Targets). */
        static final Targets ISSUE_6 = new Targets(100_000, 1.7, 0.9, 0.9);
    }

    /** The targets this run is held to (a test sets others). */
    Targets targets = Targets.ISSUE_6;

    @Spec
    CommandSpec spec;

    @Option(
            names = "--accounts",
            defaultValue = "1000000",
            description = "Accounts in the shard (default ${DEFAULT-VALUE}).")
    int accounts;

    @Option(names = "--txs", defaultValue = "10000", description = "Transfers per block (default ${DEFAULT-VALUE}).")
    int txs;

    @Option(
            names = "--repeats",
            defaultValue = "5",
            description = "Measured runs per row; the median is shown (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--threads", description = "Highest parallel thread count (default: cores).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "1", description = "Workload seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print a JSON array of rows on stdout.")
    boolean json;

    @Option(
            names = "--executor",
            defaultValue = "lanes",
            description = "Parallel executor for the parallel rows: lanes or block-stm (default ${DEFAULT-VALUE}).")
    String executor;

    @Option(
            names = "--skip-signatures",
            description = "Only the rows without signature checks (quick executor comparisons).")
    boolean skipSignatures;

    @Override
    public Integer call() throws Exception {
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        ExecutorBenchmark.Settings s;
        try {
            ExecutorBenchmark.ParallelKind kind = switch (executor) {
                case "lanes" -> ExecutorBenchmark.ParallelKind.LANES;
                case "block-stm" -> ExecutorBenchmark.ParallelKind.BLOCK_STM;
                default -> throw new Failure("--executor must be lanes or block-stm, got " + executor);
            };
            s = new ExecutorBenchmark.Settings(accounts, txs, repeats, t, seed, kind, !skipSignatures);
        } catch (IllegalArgumentException e) {
            throw new Failure(e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        java.io.PrintStream progress = new java.io.PrintStream(
                new java.io.OutputStream() {
                    @Override
                    public void write(int b) {
                        err.write(b);
                        if (b == '\n') {
                            err.flush();
                        }
                    }
                },
                true);
        ExecutorBenchmark.Result r = ExecutorBenchmark.run(s, progress);
        List<ExecutorBenchmark.Row> rows = r.rows();
        if (json) {
            out.println(rows.stream()
                    .map(ExecutorBenchmark.Row::toJson)
                    .collect(Collectors.joining(",\n  ", "[\n  ", "\n]")));
        } else {
            out.println("mode       thr  cont.   signatures   accounts      txs      median        tx/s  state root");
            rows.forEach(row -> out.println(row.toText()));
        }
        PrintWriter summary = json ? err : out;
        summary.printf(
                Locale.ROOT,
                "Ed25519 verify (Bouncy Castle): %,.0f/s on %d threads, %,.0f/s on one; JDK: %,.0f/s on one%n",
                r.verifyRateAllCores(),
                t,
                r.verifyRateOneCore(),
                r.jdkVerifyRateOneCore());
        summary.printf(
                Locale.ROOT,
                "cores this process actually got (verify rate %d threads / 1 thread, same run): %.2f%n",
                t,
                r.verifyRateAllCores() / r.verifyRateOneCore());
        summary.printf(
                Locale.ROOT, "shard state: %,d accounts in %,d MB of arrays%n", accounts, r.shardHeapBytes() >> 20);
        boolean missed = false;
        int two = Math.min(2, t);
        Optional<ExecutorBenchmark.Row> execRoot = find(rows, "parallel", two, "low", false);
        if (execRoot.isPresent()) {
            ExecutorBenchmark.Row p = execRoot.get();
            boolean met = two < 2 || p.tps() >= targets.tpsExecRoot();
            missed |= !met;
            summary.printf(
                    Locale.ROOT,
                    "execution + state root, %d thread(s), low contention: %,.0f tx/s median, %,.0f best run%s%n",
                    two,
                    p.tps(),
                    p.txs() / r.bestSeconds().get(rows.indexOf(p)),
                    two < 2
                            ? ""
                            : String.format(Locale.ROOT, " (target >= %,.0f)", targets.tpsExecRoot()) + verdict(met));
        }
        for (String c : new String[] {"low", "medium", "full"}) {
            Optional<ExecutorBenchmark.Row> seq = find(rows, "sequential", 1, c, false);
            Optional<ExecutorBenchmark.Row> par = find(rows, "parallel", t, c, false);
            if (seq.isPresent() && par.isPresent()) {
                double speedup = par.get().tps() / seq.get().tps();
                double bestRatio = r.bestSeconds().get(rows.indexOf(seq.get()))
                        / r.bestSeconds().get(rows.indexOf(par.get()));
                double target = t < 2
                        ? 0
                        : c.equals("low") ? targets.speedupLow() : c.equals("full") ? targets.speedupFull() : 0;
                boolean met = speedup >= target;
                missed |= !met;
                summary.printf(
                        Locale.ROOT,
                        "parallel %d threads / sequential, %s contention: %.2fx median, %.2fx best run%s%n",
                        t,
                        c,
                        speedup,
                        bestRatio,
                        target == 0 ? "" : " (target >= " + target + ")" + verdict(met));
            }
        }
        Optional<ExecutorBenchmark.Row> full = find(rows, "parallel", t, "low", true);
        if (full.isPresent()) {
            double share = full.get().tps() / r.verifyRateAllCores();
            boolean met = share >= targets.verifyShare();
            missed |= !met;
            summary.printf(
                    Locale.ROOT,
                    "full validation with signatures, %d threads: %,.0f tx/s = %.0f%% of the all-core verify rate"
                            + " (target >= %.0f%%)%s%n",
                    t,
                    full.get().tps(),
                    100 * share,
                    100 * targets.verifyShare(),
                    verdict(met));
        }
        summary.flush();
        boolean same = rows.stream()
                .collect(Collectors.groupingBy(
                        ExecutorBenchmark.Row::contention,
                        Collectors.mapping(ExecutorBenchmark.Row::stateRoot, Collectors.toSet())))
                .values()
                .stream()
                .allMatch(x -> x.size() == 1);
        if (!same) {
            summary.println("STATE ROOTS DIFFER between modes: the parallel executor is wrong");
            summary.flush();
            return ExitCodes.CHECK_FAILED;
        }
        return missed ? ExitCodes.CHECK_FAILED : 0;
    }

    /** {@code prospector bench executor encoding}: the measurement behind the transaction layout (docs/LEDGER.md). */
    @Command(
            name = "encoding",
            mixinStandardHelpOptions = true,
            description = {
                "Compare the fixed transaction layout with canonical CBOR.",
                "Bytes per transaction and decode time of each, over the same 10,000 transfers."
            })
    static final class Encoding implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            TxEncodingBenchmark.run(spec.commandLine().getOut());
            return 0;
        }
    }

    private static String verdict(boolean met) {
        return met ? "" : ": BELOW TARGET";
    }

    private static Optional<ExecutorBenchmark.Row> find(
            List<ExecutorBenchmark.Row> rows, String mode, int threads, String c, boolean sig) {
        return rows.stream()
                .filter(r -> r.mode().equals(mode)
                        && r.threads() == threads
                        && r.contention().equals(c)
                        && r.signatures() == sig)
                .findFirst();
    }
}
