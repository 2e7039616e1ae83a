package dev.prospector.agent.fleet;

import java.util.Map;
import java.util.Objects;

/**
 * What a board answers to a command: a status, a reason (empty when there is nothing to say) and
 * a result map of plain values ({@code String}, {@code Long}/{@code Integer}, {@code Boolean},
 * {@code Double}, {@code byte[]}, {@code List} and {@code Map<String, ?>} of those).
 */
public record CommandOutcome(Status status, String reason, Map<String, Object> result) {
    /** The outcome of a command. */
    public enum Status {
        /** Done. */
        OK,
        /** Not run: the reason says why (signature, role, expiry, replay, target, arguments...). */
        REFUSED,
        /** Run, and it did not work. */
        FAILED,
        /** Accepted and under way: a final outcome follows through the {@link ResultSink}. */
        PENDING;

        /** The status on the wire: {@code ok}, {@code refused}, {@code failed}, {@code pending}. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public CommandOutcome {
        Objects.requireNonNull(status, "status");
        reason = reason == null ? "" : reason;
        result = result == null
                ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(result));
    }

    public static CommandOutcome ok(Map<String, Object> result) {
        return new CommandOutcome(Status.OK, "", result);
    }

    public static CommandOutcome ok() {
        return ok(Map.of());
    }

    public static CommandOutcome refused(String reason) {
        return new CommandOutcome(Status.REFUSED, reason, Map.of());
    }

    public static CommandOutcome failed(String reason) {
        return new CommandOutcome(Status.FAILED, reason, Map.of());
    }

    public static CommandOutcome pending(String reason) {
        return new CommandOutcome(Status.PENDING, reason, Map.of());
    }
}
