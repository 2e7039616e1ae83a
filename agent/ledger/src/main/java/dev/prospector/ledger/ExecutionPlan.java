package dev.prospector.ledger;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One block's execution: the transactions, each mapped to block-local account slots, the slots'
 * working values, the outcome of every transaction and the block's commutative deltas.
 *
 * <p>Built single-threaded (in transaction order, so slot numbers and the order in which new
 * accounts are created are deterministic). Executors then run transactions against the slot arrays
 * only; {@link #commit} writes the written slots and the deltas into the state, and
 * {@link Commit#rollback} undoes that when the block turns out to be invalid.
 */
public final class ExecutionPlan {
    /** Transactions per task when looking up accounts: ~100 us of random reads, worth a fork. */
    private static final int LOOKUP_GRAIN = 512;
    /** Slots per task when loading or committing values: array copies, so coarser than lookups. */
    private static final int SLOT_GRAIN = 1_024;

    final Tx[] txs;
    final Address rewardKey;
    /** Sender slot and recipient slot (-1 when none) of each transaction. */
    final int[] from;

    final int[] to;
    int slots;
    /** Account number behind each slot, or -1 for an address new to the shard. */
    final int[] slotAccount;

    final Address[] newAddress;
    final long[] bal;
    final long[] stk;
    final long[] non;
    final boolean[] written;
    final byte[] outcomes;
    long feeDelta;
    long supplyDelta;
    boolean deltaOverflow;

    private ExecutionPlan(Tx[] txs, Address rewardKey) {
        this.txs = txs;
        this.rewardKey = rewardKey;
        int n = txs.length;
        from = new int[n];
        to = new int[n];
        int maxSlots = 2 * n;
        slotAccount = new int[maxSlots];
        newAddress = new Address[maxSlots];
        bal = new long[maxSlots];
        stk = new long[maxSlots];
        non = new long[maxSlots];
        written = new boolean[maxSlots];
        outcomes = new byte[n];
    }

    /** Maps every transaction's accounts to slots and loads their values from the state. */
    public static ExecutionPlan build(ShardState state, Tx[] txs, Address rewardKey) {
        return build(state, txs, rewardKey, null);
    }

    /**
     * As {@link #build(ShardState, Tx[], Address)}; with a pool, the address lookups (random reads
     * of the account table, the bulk of this step) run in parallel before slots are numbered.
     */
    public static ExecutionPlan build(
            ShardState state, Tx[] txs, Address rewardKey, java.util.concurrent.ForkJoinPool pool) {
        ExecutionPlan p = new ExecutionPlan(txs, rewardKey);
        int n = txs.length;
        // Account numbers first (read-only, parallel), kept in from/to until slots replace them.
        Parallel.forRange(pool, n, LOOKUP_GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                Tx tx = txs[i];
                p.from[i] = state.indexOf(tx.sender());
                p.to[i] = tx.hasRecipient() ? state.indexOf(tx.to()) : NO_ACCOUNT;
            }
        });
        SlotMap slotOf = new SlotMap(2 * n);
        Map<Address, Integer> fresh = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Tx tx = txs[i];
            p.from[i] = p.slotFor(state, slotOf, fresh, tx.sender(), p.from[i]);
            p.to[i] = p.to[i] == NO_ACCOUNT ? -1 : p.slotFor(state, slotOf, fresh, tx.to(), p.to[i]);
        }
        // Loading values is random reads of the account arrays: parallel, outside the numbering loop.
        Parallel.forRange(pool, p.slots, SLOT_GRAIN, (lo, hi) -> {
            for (int s = lo; s < hi; s++) {
                int acc = p.slotAccount[s];
                if (acc >= 0) {
                    p.bal[s] = state.balance[acc];
                    p.stk[s] = state.stake[acc];
                    p.non[s] = state.nonce[acc];
                }
            }
        });
        return p;
    }

    /** Marks "this transaction has no recipient" while from/to still hold account numbers. */
    private static final int NO_ACCOUNT = Integer.MIN_VALUE;

    private int slotFor(ShardState state, SlotMap slotOf, Map<Address, Integer> fresh, Address a, int acc) {
        if (acc >= 0) {
            int known = slotOf.get(acc);
            if (known >= 0) {
                return known;
            }
            int s = slots++;
            slotOf.put(acc, s);
            slotAccount[s] = acc;
            return s;
        }
        Integer known = fresh.get(a);
        if (known != null) {
            return known;
        }
        int s = slots++;
        fresh.put(a, s);
        slotAccount[s] = -1;
        newAddress[s] = a;
        return s;
    }

    public int size() {
        return txs.length;
    }

    // The executor's view of the plan, for executors outside this package (agent/bench's
    // Block-STM): the declared access sets, the slots' values, one transaction run on values the
    // executor keeps itself, and the writes back. The ledger's own executors use the fields.

    /** Block-local account slots: every slot index is below this. */
    public int slots() {
        return slots;
    }

    /** Slot of transaction {@code i}'s sender. */
    public int senderSlot(int i) {
        return from[i];
    }

    /** Slot of transaction {@code i}'s recipient (the sender's own for a self-transfer), or -1 when it has none. */
    public int recipientSlot(int i) {
        return to[i];
    }

    /** A slot's balance: the shard's value before the block until an executor writes the slot. */
    public long balance(int slot) {
        return bal[slot];
    }

    /** A slot's stake, as {@link #balance}. */
    public long stake(int slot) {
        return stk[slot];
    }

    /** A slot's nonce, as {@link #balance}. */
    public long nonce(int slot) {
        return non[slot];
    }

    /** Sets a slot's values after execution and marks it written, so that {@link #commit} writes it. */
    public void write(int slot, long balance, long stake, long nonce) {
        bal[slot] = balance;
        stk[slot] = stake;
        non[slot] = nonce;
        written[slot] = true;
    }

    /**
     * Runs transaction {@code i} on the account values in {@code s} instead of the plan's slots:
     * the sender's at index 0 and, when the transaction has a recipient other than its sender, the
     * recipient's at index 1. Records the outcome as transaction {@code i}'s (a later run of the
     * same transaction replaces it) and leaves in {@code s} the values after it, which of them
     * changed, and its fee and reward. Touches neither the slots nor the block's deltas. Each
     * thread needs its own {@code s}; runs of distinct transactions may be concurrent.
     */
    public void applyTo(int i, Scratch s) {
        int r = to[i];
        int recipient = r < 0 ? -1 : r == from[i] ? 0 : 1;
        s.written[0] = false;
        s.written[1] = false;
        s.deltas.fee = 0;
        s.deltas.supply = 0;
        s.deltas.overflow = false;
        outcomes[i] = TxRules.apply(txs[i], 0, recipient, s.bal, s.stk, s.non, s.written, rewardKey, s.deltas);
    }

    /** One transaction's account values outside the plan, for {@link #applyTo}: index 0 sender, 1 recipient. */
    public static final class Scratch {
        final long[] bal = new long[2];
        final long[] stk = new long[2];
        final long[] non = new long[2];
        final boolean[] written = new boolean[2];
        final TxRules.Deltas deltas = new TxRules.Deltas();

        /** Sets the values at {@code k} (0 or 1) before a run. */
        public void set(int k, long balance, long stake, long nonce) {
            bal[k] = balance;
            stk[k] = stake;
            non[k] = nonce;
        }

        public long balance(int k) {
            return bal[k];
        }

        public long stake(int k) {
            return stk[k];
        }

        public long nonce(int k) {
            return non[k];
        }

        /** Whether the last run changed the values at {@code k}. */
        public boolean written(int k) {
            return written[k];
        }

        /** The last run's fee (to the fee pool); 0 when it failed. */
        public long fee() {
            return deltas.fee;
        }

        /** The last run's reward (new supply); 0 when it failed. */
        public long supply() {
            return deltas.supply;
        }
    }

    /** Account number to block-local slot: open addressing sized for the block, no boxing. */
    private static final class SlotMap {
        private final int[] keys;
        private final int[] values;
        private final int mask;

        SlotMap(int entries) {
            int cap = Integer.highestOneBit(Math.max(8, entries * 2 - 1)) << 1;
            keys = new int[cap];
            values = new int[cap];
            mask = cap - 1;
        }

        private int home(int key) {
            return (key * 0x9E3779B9) >>> 7 & mask;
        }

        int get(int key) {
            for (int i = home(key); ; i = (i + 1) & mask) {
                if (keys[i] == 0) {
                    return -1;
                }
                if (keys[i] == key + 1) {
                    return values[i];
                }
            }
        }

        void put(int key, int value) {
            int i = home(key);
            while (keys[i] != 0) {
                i = (i + 1) & mask;
            }
            keys[i] = key + 1;
            values[i] = value;
        }
    }

    public TxOutcome outcome(int i) {
        return TxOutcome.VALUES[outcomes[i]];
    }

    /** Outcome of every transaction, in block order. */
    public List<TxOutcome> outcomes() {
        TxOutcome[] o = new TxOutcome[txs.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = outcome(i);
        }
        return List.of(o);
    }

    /** Index of the first failed transaction, or -1. */
    public int firstFailure() {
        for (int i = 0; i < outcomes.length; i++) {
            if (outcomes[i] != 0) {
                return i;
            }
        }
        return -1;
    }

    public long feeDelta() {
        return feeDelta;
    }

    public long supplyDelta() {
        return supplyDelta;
    }

    /** True when the block's fees or rewards sum beyond 2^63-1. */
    public boolean deltaOverflow() {
        return deltaOverflow;
    }

    /**
     * Adds one worker's delta sums; sums of non-negative terms, so the order never matters. An
     * executor that sums them itself passes {@code overflow} when a partial sum passed 2^63-1.
     */
    public void addDeltas(long fee, long supply, boolean overflow) {
        try {
            feeDelta = Math.addExact(feeDelta, fee);
            supplyDelta = Math.addExact(supplyDelta, supply);
        } catch (ArithmeticException e) {
            overflow = true;
        }
        deltaOverflow |= overflow;
    }

    /**
     * Writes written slots, then the fee and supply deltas, into the state. Returns null if a system
     * account would overflow (nothing is written then).
     */
    public Commit commit(ShardState state) {
        return commit(state, null);
    }

    /**
     * As {@link #commit(ShardState)}; with a pool, existing accounts (distinct per slot) are
     * written in parallel, and only the tree and validator bookkeeping and new accounts (in slot
     * order, so deterministically) run on the calling thread.
     */
    public Commit commit(ShardState state, java.util.concurrent.ForkJoinPool pool) {
        int feeAcc = state.indexOf(Address.FEE_POOL);
        int supplyAcc = state.indexOf(Address.SUPPLY);
        long feeBal = feeAcc < 0 ? 0 : state.balance[feeAcc];
        long supplyBal = supplyAcc < 0 ? 0 : state.balance[supplyAcc];
        if (deltaOverflow || feeBal > Long.MAX_VALUE - feeDelta || supplyBal > Long.MAX_VALUE - supplyDelta) {
            return null;
        }
        Commit c = new Commit(state);
        Parallel.forRange(pool, slots, SLOT_GRAIN, (lo, hi) -> {
            for (int s = lo; s < hi; s++) {
                int acc = slotAccount[s];
                if (written[s] && acc >= 0) {
                    c.oldBal[s] = state.balance[acc];
                    c.oldStk[s] = state.stake[acc];
                    c.oldNon[s] = state.nonce[acc];
                    state.balance[acc] = bal[s];
                    state.stake[acc] = stk[s];
                    state.nonce[acc] = non[s];
                }
            }
        });
        for (int s = 0; s < slots; s++) {
            if (written[s]) {
                int acc = slotAccount[s];
                if (acc >= 0) {
                    state.afterWrite(acc, c.oldStk[s]);
                } else {
                    state.add(newAddress[s], bal[s], stk[s], non[s]);
                    c.added++;
                }
            }
        }
        c.delta(Address.FEE_POOL, feeDelta);
        c.delta(Address.SUPPLY, supplyDelta);
        return c;
    }

    /** What a commit changed, so that a rejected block can be undone exactly. */
    public final class Commit {
        private final ShardState state;
        /** Values before the commit of every written existing slot, by slot. */
        final long[] oldBal = new long[slots];

        final long[] oldStk = new long[slots];
        final long[] oldNon = new long[slots];
        /** System accounts changed by the deltas: account, balance before. */
        private final int[] systemAccount = new int[2];

        private final long[] systemBalance = new long[2];
        private int systems;
        int added;

        Commit(ShardState state) {
            this.state = state;
        }

        void delta(Address system, long amount) {
            if (amount == 0) {
                return;
            }
            int acc = state.indexOf(system);
            if (acc < 0) {
                state.add(system, amount, 0, 0);
                added++;
            } else {
                systemAccount[systems] = acc;
                systemBalance[systems] = state.balance[acc];
                systems++;
                state.set(acc, state.balance[acc] + amount, state.stake[acc], state.nonce[acc]);
            }
        }

        /** Restores the state as it was before {@link #commit}. */
        public void rollback() {
            for (int k = systems - 1; k >= 0; k--) {
                int acc = systemAccount[k];
                state.set(acc, systemBalance[k], state.stake[acc], state.nonce[acc]);
            }
            for (int s = 0; s < slots; s++) {
                if (written[s] && slotAccount[s] >= 0) {
                    state.set(slotAccount[s], oldBal[s], oldStk[s], oldNon[s]);
                }
            }
            for (int k = 0; k < added; k++) {
                state.removeLast();
            }
        }
    }
}
