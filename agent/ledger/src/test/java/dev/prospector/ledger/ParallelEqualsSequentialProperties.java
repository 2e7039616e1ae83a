package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The executor's contract: for any workload and any thread count, the parallel executor gives the
 * sequential executor's state root, outcomes (which transactions failed and why), deltas and
 * accounts. Workloads range from no contention to every transaction touching one account, and
 * mix all kinds with failures: wrong nonces, overdrafts, overflows, unauthorised rewards.
 */
class ParallelEqualsSequentialProperties {
    private static final ForkJoinPool[] POOLS = {
        new ForkJoinPool(1), new ForkJoinPool(2), new ForkJoinPool(3), new ForkJoinPool(4)
    };
    private static final Address REWARD_KEY = Address.fromHex("77".repeat(32));

    @AfterContainer
    static void stopPools() {
        for (ForkJoinPool p : POOLS) {
            p.shutdown();
        }
    }

    @Property(tries = 300)
    void parallelExecutionEqualsSequential(
            @ForAll long seed,
            @ForAll @IntRange(min = 2, max = 40) int accounts,
            @ForAll @IntRange(min = 0, max = 400) int txCount,
            @ForAll @DoubleRange(min = 0, max = 1) double contention) {
        SplittableRandom r = new SplittableRandom(seed);
        Genesis genesis = genesis(r, accounts);
        Tx[] txs = workload(r, genesis, txCount, contention);

        Result expected = run(genesis, txs, new SequentialBlockExecutor());
        for (ShardExecutor executor : executors()) {
            Result actual = run(genesis, txs, executor);
            String where = executor.getClass().getSimpleName() + " on " + executor.threads() + " threads";
            assertEquals(expected.outcomes, actual.outcomes, where);
            assertEquals(expected.fee, actual.fee, where);
            assertEquals(expected.supply, actual.supply, where);
            assertEquals(expected.committed, actual.committed, where);
            assertArrayEquals(expected.root, actual.root, where);
            assertEquals(expected.accounts, actual.accounts, where);
        }
    }

    @Property(tries = 30)
    void everyTransactionOnOneAccountStillEqualsSequential(
            @ForAll long seed, @ForAll @IntRange(min = 64, max = 600) int txCount) {
        SplittableRandom r = new SplittableRandom(seed);
        Genesis genesis = genesis(r, 8);
        Tx[] txs = workload(r, genesis, txCount, 1.0);
        Result expected = run(genesis, txs, new SequentialBlockExecutor());
        for (ShardExecutor executor : executors()) {
            Result actual = run(genesis, txs, executor);
            assertEquals(expected.outcomes, actual.outcomes);
            assertArrayEquals(expected.root, actual.root);
        }
    }

    /** Lanes (forced parallel even for tiny blocks) and Block-STM, on 1 to 4 threads. */
    private static List<ShardExecutor> executors() {
        List<ShardExecutor> out = new ArrayList<>();
        for (ForkJoinPool pool : POOLS) {
            out.add(new ParallelBlockExecutor(pool, 0));
            out.add(new BlockStmExecutor(pool));
        }
        return out;
    }

    private record Result(
            List<TxOutcome> outcomes, long fee, long supply, boolean committed, byte[] root, List<Account> accounts) {}

    private static Result run(Genesis genesis, Tx[] txs, ShardExecutor executor) {
        ShardState state;
        try {
            state = genesis.toState();
        } catch (MalformedException e) {
            throw new IllegalStateException(e);
        }
        ExecutionPlan plan = ExecutionPlan.build(state, txs, REWARD_KEY);
        executor.execute(plan);
        boolean committed = plan.commit(state) != null;
        byte[] root = state.root(executor.pool());
        List<Account> all = new ArrayList<>();
        for (int i = 0; i < state.size(); i++) {
            all.add(state.account(i));
        }
        all.sort((a, b) -> a.address().compareTo(b.address()));
        return new Result(plan.outcomes(), plan.feeDelta(), plan.supplyDelta(), committed, root, all);
    }

    private static Address randomAddress(SplittableRandom r) {
        byte[] b = new byte[Address.SIZE];
        for (int k = 0; k < b.length; k += 8) {
            Bytes.putLong(b, k, r.nextLong());
        }
        return Address.of(b);
    }

    private static Genesis genesis(SplittableRandom r, int accounts) {
        byte[] addrs = new byte[accounts * Address.SIZE];
        long[] bal = new long[accounts];
        long[] stk = new long[accounts];
        for (int i = 0; i < accounts; i++) {
            Address a = i == 0 ? REWARD_KEY : randomAddress(r);
            System.arraycopy(a.raw(), 0, addrs, i * Address.SIZE, Address.SIZE);
            bal[i] = switch (r.nextInt(4)) {
                case 0 -> 0;
                case 1 -> r.nextInt(1_000);
                case 2 -> 1_000_000;
                default -> Long.MAX_VALUE / 64 - r.nextInt(1_000);
            };
            stk[i] = r.nextInt(3) == 0 ? r.nextInt(500) : 0;
        }
        return new Genesis(new LedgerParams(1, 0, REWARD_KEY, 1), 0, addrs, bal, stk);
    }

    private static Tx[] workload(SplittableRandom r, Genesis g, int count, double contention) {
        ShardState s;
        try {
            s = g.toState();
        } catch (MalformedException e) {
            throw new IllegalStateException(e);
        }
        int n = g.accountCount();
        Address[] known = new Address[n];
        for (int i = 0; i < n; i++) {
            known[i] = s.address(i);
        }
        Address hot = known[n - 1];
        Tx[] txs = new Tx[count];
        for (int k = 0; k < count; k++) {
            int from = r.nextInt(n);
            boolean hotTx = r.nextDouble() < contention;
            if (hotTx && r.nextBoolean()) {
                from = n - 1;
            }
            Address to = hotTx ? hot : r.nextInt(10) == 0 ? randomAddress(r) : known[r.nextInt(n)];
            long amount = switch (r.nextInt(6)) {
                case 0 -> 0;
                case 1 -> Long.MAX_VALUE - r.nextInt(3);
                case 2 -> r.nextInt(2_000_000);
                default -> r.nextInt(500);
            };
            long fee = r.nextInt(3);
            long next = s.account(known[from]).map(Account::nonce).orElse(0L);
            long n0 = r.nextInt(20) == 0 ? next + r.nextInt(3) - 1 : next;
            TxKind kind = switch (r.nextInt(10)) {
                case 0 -> TxKind.STAKE;
                case 1 -> TxKind.UNSTAKE;
                case 2 -> TxKind.REWARD;
                default -> TxKind.TRANSFER;
            };
            Address sender = known[from];
            if (kind == TxKind.REWARD) {
                fee = 0;
                if (r.nextInt(4) != 0) {
                    sender = REWARD_KEY;
                    n0 = s.account(REWARD_KEY).map(Account::nonce).orElse(0L);
                }
            }
            txs[k] = Tx.unsigned(
                    kind,
                    sender,
                    Math.max(0, n0),
                    kind == TxKind.STAKE || kind == TxKind.UNSTAKE ? null : to,
                    amount,
                    fee);
            // Follow the nonces a sequential run will expect, so that failures stay the exception.
            ExecutionPlan one = ExecutionPlan.build(s, new Tx[] {txs[k]}, REWARD_KEY);
            new SequentialBlockExecutor().execute(one);
            if (one.firstFailure() < 0) {
                one.commit(s);
            }
        }
        return txs;
    }
}
