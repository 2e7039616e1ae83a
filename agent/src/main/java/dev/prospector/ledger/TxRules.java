package dev.prospector.ledger;

/**
 * The state transition of one transaction against a plan's slot arrays. Pure: its outcome depends
 * only on the transaction and the values of its own slots, which is why running non-conflicting
 * transactions in any order or on any thread gives the same result. A failed transaction writes
 * nothing.
 */
final class TxRules {
    private TxRules() {
    }

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
        Tx tx = p.txs[i];
        int s = p.from[i];
        long[] bal = p.bal;
        if (tx.kind() == TxKind.REWARD && !tx.sender().equals(p.rewardKey)) {
            return code(TxOutcome.UNAUTHORISED_REWARD);
        }
        if (p.non[s] != tx.nonce()) {
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
                int r = p.to[i];
                if (r == s) {
                    bal[s] -= fee;
                } else {
                    if (bal[r] > Long.MAX_VALUE - amount) {
                        return code(TxOutcome.OVERFLOW);
                    }
                    bal[s] -= debit;
                    bal[r] += amount;
                    p.written[r] = true;
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
                if (p.stk[s] > Long.MAX_VALUE - amount) {
                    return code(TxOutcome.OVERFLOW);
                }
                bal[s] -= debit;
                p.stk[s] += amount;
                d.addFee(fee);
            }
            case UNSTAKE -> {
                if (p.stk[s] < amount) {
                    return code(TxOutcome.INSUFFICIENT_STAKE);
                }
                if (bal[s] < fee) {
                    return code(TxOutcome.INSUFFICIENT_BALANCE);
                }
                if (bal[s] - fee > Long.MAX_VALUE - amount) {
                    return code(TxOutcome.OVERFLOW);
                }
                p.stk[s] -= amount;
                bal[s] = bal[s] - fee + amount;
                d.addFee(fee);
            }
            case REWARD -> {
                int r = p.to[i];
                if (bal[r] > Long.MAX_VALUE - amount) {
                    return code(TxOutcome.OVERFLOW);
                }
                bal[r] += amount;
                p.written[r] = true;
                d.addSupply(amount);
            }
            default -> throw new IllegalStateException("unknown kind " + tx.kind());
        }
        p.non[s] = tx.nonce() + 1;
        p.written[s] = true;
        return 0;
    }

    private static byte code(TxOutcome o) {
        return (byte) o.ordinal();
    }
}
