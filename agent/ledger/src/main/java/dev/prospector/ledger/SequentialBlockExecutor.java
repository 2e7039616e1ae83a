package dev.prospector.ledger;

import java.util.concurrent.ForkJoinPool;

/** The reference: transactions one by one, in block order, on the calling thread. */
public final class SequentialBlockExecutor implements ShardExecutor {

    @Override
    public void execute(ExecutionPlan plan) {
        TxRules.Deltas d = new TxRules.Deltas();
        byte[] outcomes = plan.outcomes;
        for (int i = 0; i < outcomes.length; i++) {
            outcomes[i] = TxRules.apply(plan, i, d);
        }
        plan.addDeltas(d.fee, d.supply, d.overflow);
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public ForkJoinPool pool() {
        return null;
    }
}
