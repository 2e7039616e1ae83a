package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * The executor contract's workloads and its check, shared by this module's
 * {@code ParallelEqualsSequentialProperties} (lanes) and agent/bench's Block-STM property through
 * this module's test jar. Workloads range from no contention to every transaction touching one
 * account, and mix all kinds with failures: wrong nonces, overdrafts, overflows, unauthorised
 * rewards. The check compares an executor with {@link SequentialBlockExecutor} on everything a
 * block's result is made of: outcomes (which transactions failed and why), deltas, whether the
 * commit succeeded, the state root and every account.
 */
public final class ExecutorWorkloads {
    private static final Address REWARD_KEY = Address.fromHex("77".repeat(32));

    private ExecutorWorkloads() {}

    /** A genesis and one block's transactions, with the parameters that made them. */
    public static final class Case {
        private final long seed;
        private final int accounts;
        private final double contention;
        private final Genesis genesis;
        private final Tx[] txs;

        private Case(long seed, int accounts, double contention, Genesis genesis, Tx[] txs) {
            this.seed = seed;
            this.accounts = accounts;
            this.contention = contention;
            this.genesis = genesis;
            this.txs = txs;
        }

        /** What jqwik shows for a failing case: enough to generate it again. */
        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT, "generate(%dL, %d, %d, %s)", seed, accounts, txs.length, Double.toString(contention));
        }
    }

    /** Any workload: 2-40 accounts, 0-400 transactions, contention from none to full. */
    public static Arbitrary<Case> anyWorkload() {
        return Combinators.combine(
                        Arbitraries.longs(),
                        Arbitraries.integers().between(2, 40),
                        Arbitraries.integers().between(0, 400),
                        Arbitraries.doubles().between(0, 1))
                .as(ExecutorWorkloads::generate);
    }

    /** Every transaction on one hot account: 8 accounts, 64-600 transactions. */
    public static Arbitrary<Case> oneHotAccount() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(64, 600))
                .as((seed, txCount) -> generate(seed, 8, txCount, 1.0));
    }

    /** The workload of these parameters; the same parameters give the same workload. */
    public static Case generate(long seed, int accounts, int txCount, double contention) {
        SplittableRandom r = new SplittableRandom(seed);
        Genesis genesis = genesis(r, accounts);
        return new Case(seed, accounts, contention, genesis, transactions(r, genesis, txCount, contention));
    }

    /** Asserts that each executor gives the sequential executor's result on the workload. */
    public static void assertEqualsSequential(Case w, List<? extends ShardExecutor> executors) {
        Result expected = run(w, new SequentialBlockExecutor());
        for (ShardExecutor executor : executors) {
            Result actual = run(w, executor);
            String where = executor.getClass().getSimpleName() + " on " + executor.threads() + " threads";
            assertEquals(expected.outcomes, actual.outcomes, where);
            assertEquals(expected.fee, actual.fee, where);
            assertEquals(expected.supply, actual.supply, where);
            assertEquals(expected.committed, actual.committed, where);
            assertEquals(expected.root, actual.root, where);
            assertEquals(expected.accounts, actual.accounts, where);
        }
    }

    private record Result(
            List<TxOutcome> outcomes, long fee, long supply, boolean committed, String root, List<Account> accounts) {}

    private static Result run(Case w, ShardExecutor executor) {
        ShardState state;
        try {
            state = w.genesis.toState();
        } catch (MalformedException e) {
            throw new IllegalStateException(e);
        }
        ExecutionPlan plan = ExecutionPlan.build(state, w.txs, REWARD_KEY);
        executor.execute(plan);
        boolean committed = plan.commit(state) != null;
        String root = Bytes.hex(state.root(executor.pool()));
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

    private static Tx[] transactions(SplittableRandom r, Genesis g, int count, double contention) {
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
