package dev.prospector.ledger;

/** The result of checking one block. */
public sealed interface BlockVerdict {

    long height();

    byte[] blockHash();

    /** The block was applied; {@code stateRoot} is the root after it. */
    record Valid(long height, byte[] blockHash, byte[] stateRoot, BlockTimings timings) implements BlockVerdict {}

    /** The block was rejected and the state is unchanged. */
    record Invalid(long height, byte[] blockHash, InvalidReason reason, String detail) implements BlockVerdict {
        @Override
        public String toString() {
            return "invalid: " + reason.code() + " (" + detail + ")";
        }
    }

    /** Where a valid block's time went, in nanoseconds. */
    record BlockTimings(int txs, long decodeAndVerifyNanos, long executeNanos, long rootNanos) {
        public long totalNanos() {
            return decodeAndVerifyNanos + executeNanos + rootNanos;
        }
    }
}
