package dev.prospector.ledger;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/** Splits an index range over a fork/join pool; runs inline without a pool. */
final class Parallel {
    private Parallel() {}

    /** Body over a half-open index range. */
    @FunctionalInterface
    interface RangeBody {
        void run(int lo, int hi);
    }

    static void forRange(ForkJoinPool pool, int n, int grain, RangeBody body) {
        if (pool == null || pool.getParallelism() < 2 || n <= grain) {
            body.run(0, n);
            return;
        }
        pool.invoke(new Split(0, n, grain, body));
    }

    private static final class Split extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int lo;
        private final int hi;
        private final int grain;
        private final transient RangeBody body;

        Split(int lo, int hi, int grain, RangeBody body) {
            this.lo = lo;
            this.hi = hi;
            this.grain = grain;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (hi - lo <= grain) {
                body.run(lo, hi);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Split(lo, mid, grain, body), new Split(mid, hi, grain, body));
        }
    }
}
