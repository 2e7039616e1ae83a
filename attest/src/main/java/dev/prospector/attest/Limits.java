package dev.prospector.attest;

import java.time.Duration;

/** Every bound of the evidence format and its appraisal, in one place. */
public final class Limits {
    private Limits() {}

    /** Largest report accepted by the decoder; a real report is well under 2 KiB. */
    public static final int MAX_REPORT_BYTES = 64 * 1024;

    /** Deepest CBOR nesting the decoder follows (a report needs 4: tag, array, map, measurement). */
    public static final int MAX_CBOR_DEPTH = 8;

    /** Most measurements one report may carry. */
    public static final int MAX_MEASUREMENTS = 256;

    /** Longest text claim (fleet, names, units, sources, reasons, versions) in UTF-8 bytes. */
    public static final int MAX_TEXT_BYTES = 256;

    /** Longest nonce, in bytes. */
    public static final int MAX_NONCE_BYTES = 64;

    /** Most key rotations a device may carry in its reports. */
    public static final int MAX_ROTATIONS = 16;

    /** Default window by which a report's iat may be ahead of the verifier's clock. */
    public static final Duration CLOCK_SKEW_WINDOW = Duration.ofMinutes(5);

    /**
     * Oldest report accepted. Reports come late after an outage (the outbox keeps them until the
     * broker is back), so age alone is no reason to refuse one; replays are caught by the chain
     * (seq, prev, duplicate window). Beyond this age a report is too old to reward.
     */
    public static final Duration MAX_REPORT_AGE = Duration.ofDays(7);

    /** Default lifetime of a challenge nonce issued by the verifier. */
    public static final Duration CHALLENGE_TTL = Duration.ofMinutes(10);

    /** Reports per device remembered to tell an exact duplicate (acknowledged) from a replay. */
    public static final int DUPLICATE_WINDOW = 32;

    /** Closed (superseded) chain ids remembered per device, whose late reports are replays. */
    public static final int CLOSED_CHAINS_KEPT = 4;
}
