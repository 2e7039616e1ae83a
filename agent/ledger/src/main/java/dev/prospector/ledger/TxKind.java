package dev.prospector.ledger;

/** The four transaction kinds; the code is the first byte of the encoding and never changes. */
public enum TxKind {
    /** Move balance from sender to recipient, paying a fee. */
    TRANSFER(1),
    /** Move balance of the sender into its stake. */
    STAKE(2),
    /** Move stake of the sender back into its balance. */
    UNSTAKE(3),
    /** Mint a reward for the recipient; only the network's reward key may sign it. */
    REWARD(4);

    final byte code;

    TxKind(int code) {
        this.code = (byte) code;
    }

    static TxKind fromCode(byte code) {
        return switch (code) {
            case 1 -> TRANSFER;
            case 2 -> STAKE;
            case 3 -> UNSTAKE;
            case 4 -> REWARD;
            default -> null;
        };
    }
}
