package dev.prospector.ledger;

/**
 * The state transition of one transaction against a plan's slot arrays. Pure: its outcome depends
 * only on the transaction and the values of its own slots, which is why running non-conflicting
 * transactions in any order or on any thread gives the same result. A failed transaction writes
 * nothing.
 */
final class TxRules {
    private TxRules() {}

    /** Per-worker sums of the commutative deltas. */
    static final class Deltas {
        long fee;
        long supply;
        boolean overflow;

        void addFee(long f) {
            long s = fee + f;
            if (s < 0) {
                overflow = true;
            }
            fee = s;
        }

        void addSupply(long a) {
            long s = supply + a;
            if (s < 0) {
                overflow = true;
            }
            supply = s;
        }
    }

    static byte apply(ExecutionPlan p, int i, Deltas d) {
        return apply(p.txs[i], p.from[i], p.to[i], p.bal, p.stk, p.non, p.written, p.rewardKey, d);
    }

    /**
     * Applies one transaction to account values held at indices {@code s} (sender) and {@code r}
     * (recipient, or -1) of the given arrays, setting {@code written} for every index it changes.
     */
    static byte apply(
            Tx tx, int s, int r, long[] bal, long[] stk, long[] non, boolean[] written, Address rewardKey, Deltas d) {
        if (tx.kind() == TxKind.REWARD && !tx.sender().equals(rewardKey)) {
            return code(TxOutcome.UNAUTHORISED_REWARD);
        }
        if (non[s] != tx.nonce()) {
            return code(TxOutcome.BAD_NONCE);
        }
        if (tx.nonce() == Long.MAX_VALUE) {
            return code(TxOutcome.OVERFLOW);
        }
        long amount = tx.amount();
        long fee = tx.fee();
        switch (tx.kind()) {
            case TRANSFER -> {
                long debit = amount + fee;
                if (debit < 0) {
                    return code(TxOutcome.OVERFLOW);
                }
                if (bal[s] < debit) {
                    return code(TxOutcome.INSUFFICIENT_BALANCE);
                }
                if (r == s) {
                    bal[s] -= fee;
                } else {
                    if (bal[r] > Long.MAX_VALUE - amount) {
                        return code(TxOutcome.OVERFLOW);
                    }
                    bal[s] -= debit;
                    bal[r] += amount;
                    written[r] = true;
                }
                d.addFee(fee);
            }
            case STAKE -> {
                long debit = amount + fee;
                if (debit < 0) {
                    return code(TxOutcome.OVERFLOW);
                }
                if (bal[s] < debit) {
                    return code(TxOutcome.INSUFFICIENT_BALANCE);
                }
                if (stk[s] > Long.MAX_VALUE - amount) {
                    return code(TxOutcome.OVERFLOW);
                }
                bal[s] -= debit;
                stk[s] += amount;
                d.addFee(fee);
            }
            case UNSTAKE -> {
                if (stk[s] < amount) {
                    return code(TxOutcome.INSUFFICIENT_STAKE);
                }
                if (bal[s] < fee) {
                    return code(TxOutcome.INSUFFICIENT_BALANCE);
                }
                if (bal[s] - fee > Long.MAX_VALUE - amount) {
                    return code(TxOutcome.OVERFLOW);
                }
                stk[s] -= amount;
                bal[s] = bal[s] - fee + amount;
                d.addFee(fee);
            }
            case REWARD -> {
                if (bal[r] > Long.MAX_VALUE - amount) {
                    return code(TxOutcome.OVERFLOW);
                }
                bal[r] += amount;
                written[r] = true;
                d.addSupply(amount);
            }
            default -> throw new IllegalStateException("unknown kind " + tx.kind());
        }
        non[s] = tx.nonce() + 1;
        written[s] = true;
        return 0;
    }

    private static byte code(TxOutcome o) {
        return (byte) o.ordinal();
    }
}
