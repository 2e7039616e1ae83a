package dev.prospector.agent.verifier;

import java.util.Locale;

/** What one storage audit came to, as Storj's satellites count them (docs/REWARDS.md). */
public enum AuditOutcome {
    /** The right leaves, in time: reputation up. */
    SUCCESS,
    /** Wrong data, or a report answering the audit's challenge without the proof after the deadline: reputation down. */
    FAILURE,
    /** No answer by the deadline: counted, reputation unchanged, nothing proven. */
    OFFLINE,
    /** The right leaves, but late: audited again at once; the third in a row counts as a failure. */
    CONTAINED,
    /** The board said it could not read its plot (its own error): counted apart, reputation unchanged. */
    UNKNOWN;

    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }
}
