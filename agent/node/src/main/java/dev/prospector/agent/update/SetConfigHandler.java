package dev.prospector.agent.update;

import dev.prospector.agent.fleet.CommandHandler;
import dev.prospector.agent.fleet.CommandOutcome;
import dev.prospector.agent.fleet.ResultSink;
import dev.prospector.agent.fleet.Role;
import dev.prospector.agent.fleet.SignedCommand;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.tinylog.Logger;

/**
 * {@code set-config}: replaces the pushed configuration layer (see {@link ConfigStore}) with the
 * command's {@code config} text (empty: no pushed layer), after the {@link ConfigValidator} found
 * nothing wrong with it. Then the agent restarts on it, on trial: if it is not connected with a
 * first report accepted within {@code timeout} seconds (default {@link #DEFAULT_TIMEOUT}), the
 * previous configuration comes back by itself and the result says so ({@link Changes}).
 *
 * <p>Arguments: {@code config} (text, at most {@link ConfigStore#MAX_CONFIG_BYTES} bytes),
 * {@code timeout} (seconds, {@link #MIN_TIMEOUT} to {@link #MAX_TIMEOUT}).
 */
public final class SetConfigHandler implements CommandHandler {
    public static final String NAME = "set-config";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);
    public static final Duration MIN_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration MAX_TIMEOUT = Duration.ofHours(1);

    private final Changes changes;
    private final ConfigValidator validator;

    public SetConfigHandler(Changes changes, ConfigValidator validator) {
        this.changes = changes;
        this.validator = validator;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Role minimumRole() {
        return Role.ADMIN;
    }

    @Override
    public CommandOutcome handle(SignedCommand command, ResultSink later) throws Exception {
        if (!(command.args().get("config") instanceof String text)) {
            return CommandOutcome.refused("set-config needs argument config: the key = value text to push");
        }
        if (text.getBytes(StandardCharsets.UTF_8).length > ConfigStore.MAX_CONFIG_BYTES) {
            return CommandOutcome.refused("config has more than " + ConfigStore.MAX_CONFIG_BYTES + " bytes");
        }
        Duration timeout;
        try {
            timeout = seconds(command.args().get("timeout"), DEFAULT_TIMEOUT, MIN_TIMEOUT, MAX_TIMEOUT);
        } catch (IllegalArgumentException e) {
            return CommandOutcome.refused(e.getMessage());
        }
        var busy = changes.busy();
        if (busy.isPresent()) {
            return CommandOutcome.refused(busy.get() + ": send it again when that has ended");
        }
        List<String> problems = validator.problems(text);
        if (!problems.isEmpty()) {
            Logger.warn("set-config {} refused: {}", command.id(), problems);
            return CommandOutcome.refused("invalid configuration, nothing changed: " + String.join("; ", problems));
        }
        if (changes.config().current().orElse("").equals(text.endsWith("\n") || text.isEmpty() ? text : text + "\n")) {
            return CommandOutcome.ok(java.util.Map.of("message", "this configuration is already in force"));
        }
        Trial trial = new Trial(
                command.id(),
                "pushed configuration",
                "",
                "previous configuration",
                changes.clock().instant().plus(timeout));
        changes.config().stage(text, trial);
        Logger.warn(
                "set-config {}: pushed configuration staged; restarting on it (rollback after {} s)",
                command.id(),
                timeout.toSeconds());
        changes.restartSoon("apply the pushed configuration");
        return CommandOutcome.pending("configuration validated and staged; the agent restarts on it and answers within "
                + timeout.toSeconds() + " s");
    }

    /** A duration argument in whole seconds (a number, or its text), within bounds. */
    static Duration seconds(Object value, Duration fallback, Duration min, Duration max) {
        if (value == null) {
            return fallback;
        }
        long s;
        if (value instanceof Number n) {
            s = n.longValue();
        } else if (value instanceof String t && t.matches("[0-9]{1,9}")) {
            s = Long.parseLong(t);
        } else {
            throw new IllegalArgumentException("timeout must be a number of seconds");
        }
        Duration d = Duration.ofSeconds(s);
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(
                    "timeout " + s + " s is out of range: " + min.toSeconds() + " to " + max.toSeconds() + " s");
        }
        return d;
    }
}
