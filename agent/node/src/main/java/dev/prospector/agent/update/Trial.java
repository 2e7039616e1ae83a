package dev.prospector.agent.update;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A change on probation: a pushed configuration or a new version that has been put in place and
 * must prove itself (the agent connected and a first report accepted) by {@code deadline}, else it
 * is undone. Kept in a {@link StateFile} so that it outlives the restart that applies the change.
 *
 * @param commandId the command that asked for the change; its result is sent when the trial ends
 * @param change what changed, for people ({@code config 3 settings}, {@code version 1.2.0})
 * @param target the version on trial (updates), or empty (configuration pushes)
 * @param from the version or configuration the trial replaced, for the result
 * @param deadline when the change must have proved itself (wall clock; survives restarts)
 */
public record Trial(String commandId, String change, String target, String from, Instant deadline) {
    Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("command", commandId);
        m.put("change", change);
        m.put("target", target);
        m.put("from", from);
        m.put("deadline", Long.toString(deadline.toEpochMilli()));
        return m;
    }

    static Optional<Trial> fromMap(Map<String, String> m) {
        try {
            return Optional.of(new Trial(
                    m.getOrDefault("command", ""),
                    m.getOrDefault("change", ""),
                    m.getOrDefault("target", ""),
                    m.getOrDefault("from", ""),
                    Instant.ofEpochMilli(Long.parseLong(m.getOrDefault("deadline", "")))));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
