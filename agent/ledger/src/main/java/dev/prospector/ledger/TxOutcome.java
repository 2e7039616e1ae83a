package dev.prospector.ledger;

/**
 * What executing one transaction did. A failed transaction changes nothing (not even the nonce);
 * a block containing one is invalid, and the attestation names the first such transaction.
 */
public enum TxOutcome {
    APPLIED("applied"),
    /** Nonce is not the sender's next: a replay, or the second spend of the same nonce. */
    BAD_NONCE("bad-nonce"),
    /** Sender cannot pay amount plus fee: a double spend. */
    INSUFFICIENT_BALANCE("insufficient-balance"),
    INSUFFICIENT_STAKE("insufficient-stake"),
    /** A balance or stake would exceed 2^63-1. */
    OVERFLOW("overflow"),
    /** A reward not signed by the network's reward key. */
    UNAUTHORISED_REWARD("unauthorised-reward");

    private final String code;

    TxOutcome(String code) {
        this.code = code;
    }

    /** The stable, printable reason code. */
    public String code() {
        return code;
    }

    static final TxOutcome[] VALUES = values();
}
