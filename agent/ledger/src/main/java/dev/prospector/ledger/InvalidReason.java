package dev.prospector.ledger;

/** Why a block is invalid; the code is what the attestation carries and never changes. */
public enum InvalidReason {
    MALFORMED("malformed"),
    WRONG_SHARD("wrong-shard"),
    WRONG_HEIGHT("wrong-height"),
    WRONG_PARENT("wrong-parent"),
    WRONG_PROPOSER("wrong-proposer"),
    BAD_PROPOSER_SIGNATURE("bad-proposer-signature"),
    TX_WRONG_SHARD("tx-wrong-shard"),
    BAD_SIGNATURE("bad-signature"),
    UNAUTHORISED_REWARD("unauthorised-reward"),
    WRONG_TX_ROOT("wrong-tx-root"),
    BAD_NONCE("bad-nonce"),
    INSUFFICIENT_BALANCE("insufficient-balance"),
    INSUFFICIENT_STAKE("insufficient-stake"),
    OVERFLOW("overflow"),
    WRONG_STATE_ROOT("wrong-state-root");

    private final String code;

    InvalidReason(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }

    static InvalidReason of(TxOutcome failure) {
        return switch (failure) {
            case BAD_NONCE -> BAD_NONCE;
            case INSUFFICIENT_BALANCE -> INSUFFICIENT_BALANCE;
            case INSUFFICIENT_STAKE -> INSUFFICIENT_STAKE;
            case OVERFLOW -> OVERFLOW;
            case UNAUTHORISED_REWARD -> UNAUTHORISED_REWARD;
            case APPLIED -> throw new IllegalArgumentException("applied is not a failure");
        };
    }

    public static InvalidReason fromCode(String code) {
        for (InvalidReason r : values()) {
            if (r.code.equals(code)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown invalid-block reason " + code);
    }
}
