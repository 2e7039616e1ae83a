package dev.prospector.ledger.tools;

import dev.prospector.ledger.BlockValidator;
import dev.prospector.ledger.BlockVerdict;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.Workload;
import java.util.concurrent.ForkJoinPool;

/** Scratch: where a block's time goes. */
public final class ProfileMain {
    private ProfileMain() {
    }

    public static void main(String[] args) throws Exception {
        int accounts = Integer.parseInt(args[0]);
        int txs = Integer.parseInt(args[1]);
        double c = Double.parseDouble(args[2]);
        Workload w = Workload.start(new Workload.Spec(accounts, txs, 0, 0, 1));
        var chain = w.builder().chain();
        byte[] block = w.builder().draft(w.nextTxs(txs, c)).seal();
        ForkJoinPool p = new ForkJoinPool(2);
        BlockValidator[] vs = {new BlockValidator(new SequentialBlockExecutor(), false), new BlockValidator(new ParallelBlockExecutor(p), false)};
        for (int r = 0; r < 8; r++) {
            for (BlockValidator v : vs) {
                BlockVerdict.Valid ok = (BlockVerdict.Valid) v.check(block, chain);
                chain.state().root(p);
                var t = ok.timings();
                System.out.printf("%s decode %.1f exec %.1f root %.1f ms%n", v.executor().threads(), t.decodeAndVerifyNanos() / 1e6,
                        t.executeNanos() / 1e6, t.rootNanos() / 1e6);
            }
        }
        p.shutdown();
    }
}
