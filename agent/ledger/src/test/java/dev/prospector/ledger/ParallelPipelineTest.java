package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Blocks large enough that every pooled phase splits (decoding, lookups, value loads, commit, tx
 * root levels, state root): a 3-thread validator must reach the sequential validator's state, and
 * a rejected block must be undone exactly by the parallel commit's rollback.
 */
class ParallelPipelineTest {
    private final ForkJoinPool pool = new ForkJoinPool(3);

    @AfterEach
    void stop() {
        pool.shutdown();
    }

    @Test
    void aThreeThreadValidatorReachesTheSequentialState() throws Exception {
        Workload w = Workload.start(new Workload.Spec(6_000, 2_500, 0, 0.3, 11));
        Chain sequential = Chain.fromGenesis(w.genesis());
        Chain parallel = Chain.fromGenesis(w.genesis());
        BlockValidator one = new BlockValidator(new SequentialBlockExecutor(), true);
        BlockValidator three = new BlockValidator(new ParallelBlockExecutor(pool), true);
        for (int b = 0; b < 3; b++) {
            byte[] block = w.nextBlock(0.3);
            BlockVerdict.Valid s = assertInstanceOf(BlockVerdict.Valid.class, one.apply(block, sequential));
            BlockVerdict.Valid p = assertInstanceOf(BlockVerdict.Valid.class, three.apply(block, parallel));
            assertArrayEquals(s.stateRoot(), p.stateRoot());
        }
        assertEquals(sequential.state().size(), parallel.state().size());
    }

    @Test
    void aRejectedLargeBlockIsUndoneByTheParallelRollback() throws Exception {
        Workload w = Workload.start(new Workload.Spec(6_000, 2_500, 0, 0.1, 12));
        Chain chain = Chain.fromGenesis(w.genesis());
        BlockValidator three = new BlockValidator(new ParallelBlockExecutor(pool), true);
        byte[] before = chain.state().root(pool);
        ChainBuilder.Draft d = w.builder().draft(w.nextTxs(2_500, 0.1));
        d.stateRoot = new byte[32];
        BlockVerdict.Invalid inv = assertInstanceOf(BlockVerdict.Invalid.class, three.apply(d.seal(), chain));
        assertEquals(InvalidReason.WRONG_STATE_ROOT, inv.reason());
        assertArrayEquals(before, chain.state().root(pool));
        assertArrayEquals(before, chain.state().root(null));
    }
}
