package dev.prospector.attest;

/** Why a report was rejected. The codes are stable: receipts, logs and dashboards use them. */
public enum ReasonCode {
    /** Not a well-formed, deterministic report of a supported version (or larger than allowed). */
    MALFORMED("malformed"),
    /** The signature (or a key rotation statement's signature) does not verify. */
    BAD_SIGNATURE("bad-signature"),
    /** The device is not in the verifier's registry of allowed devices. */
    UNKNOWN_DEVICE("unknown-device"),
    /** Signed by a key other than the one the verifier holds for the device, with no rotation linking them. */
    KEY_MISMATCH("key-mismatch"),
    /** The report's fleet is not the verifier's fleet. */
    WRONG_FLEET("wrong-fleet"),
    /** A different report with a seq already used in the chain, or a report of a superseded chain. */
    REPLAY("replay"),
    /** prev does not match the hash of the previous report, or a new chain without a restart claim. */
    CHAIN_BREAK("chain-break"),
    /** iat outside the clock-skew window around the verifier's clock. */
    STALE("stale"),
    /** The nonce was not issued to this device by this verifier, or has expired. */
    BAD_NONCE("bad-nonce"),
    /** A claim outside plausible bounds (a link speed, free space above capacity, 300 degrees C). */
    IMPLAUSIBLE("implausible"),
    /** The verifier failed (it could not record a key pin, or hit a bug): not the report's fault; send it again. */
    VERIFIER_ERROR("verifier-error"),
    /**
     * The report's device is not the device of the topic it arrived on. Checked before anything
     * else, so a genuine report shown first under another device's topic changes no chain state.
     */
    WRONG_TOPIC("wrong-topic"),
    /** The report claims to come from an emulated board and the verifier does not accept emulated evidence. */
    EMULATED("emulated"),
    /**
     * A device the verifier does not track yet, beyond its cap on new devices per minute or its
     * maximum of tracked devices: not the report's fault; the device keeps it and sends it again later.
     */
    RATE_LIMITED("rate-limited");

    private final String code;

    ReasonCode(String code) {
        this.code = code;
    }

    /** The stable kebab-case code. */
    public String code() {
        return code;
    }

    /** The reason of a code, if it is one. */
    public static java.util.Optional<ReasonCode> fromCode(String code) {
        for (var r : values()) {
            if (r.code.equals(code)) {
                return java.util.Optional.of(r);
            }
        }
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return code;
    }
}
