package dev.prospector.ledger.tools;

import dev.prospector.ledger.ExecutorBenchmark;

/** Scratch entry for running the executor benchmark without the CLI. */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        int accounts = Integer.parseInt(args[0]);
        int txs = Integer.parseInt(args[1]);
        int repeats = Integer.parseInt(args[2]);
        var r = ExecutorBenchmark.run(new ExecutorBenchmark.Settings(accounts, txs, repeats, Runtime.getRuntime().availableProcessors(), 1),
                System.err);
        r.rows().forEach(row -> System.out.println(row.toText()));
        System.out.printf("verify all cores %.0f/s, one core %.0f/s, JDK one core %.0f/s, shard heap %d MB%n", r.verifyRateAllCores(),
                r.verifyRateOneCore(), r.jdkVerifyRateOneCore(), r.shardHeapBytes() >> 20);
    }
}
