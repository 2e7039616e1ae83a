package dev.prospector.agent.update;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * How a trial ended, kept until the result has been handed to the command results (which queue it
 * while offline): written before a rollback restarts the agent, so that the process that comes up
 * next, whichever version and configuration it runs, says what happened.
 *
 * @param commandId the command whose trial ended
 * @param ok whether the change stayed
 * @param message what happened, one line
 */
public record Outcome(String commandId, boolean ok, String message) {
    Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("command", commandId);
        m.put("ok", Boolean.toString(ok));
        m.put("message", message);
        return m;
    }

    static Optional<Outcome> fromMap(Map<String, String> m) {
        String id = m.get("command");
        return id == null || id.isEmpty()
                ? Optional.empty()
                : Optional.of(new Outcome(id, Boolean.parseBoolean(m.get("ok")), m.getOrDefault("message", "")));
    }
}
