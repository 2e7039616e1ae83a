package dev.prospector.agent.fleet;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The commands every board runs: {@code ping}, {@code status} (viewer); {@code report-now},
 * {@code identify}, {@code restart} (operator); {@code rotate-key} (admin). They reach the board
 * through {@link Board}, which {@code AgentWiring} builds from the agent node, so that this package
 * knows nothing of the node.
 */
public final class BuiltinHandlers {
    private BuiltinHandlers() {}

    /** Longest identify blink asked for. */
    public static final Duration MAX_IDENTIFY = Duration.ofMinutes(10);

    /** What the built-in commands do to the board. */
    public interface Board {
        /** A compact status (counters, connection, last receipt). */
        Map<String, Object> status();

        /** Makes a report now. */
        void reportNow();

        /** Blinks the LED (or, on a board without one, records that it was asked); says which. */
        String identify(Duration duration);

        /** Ends the process so that systemd starts it again (the CLI maps it to an exit code). */
        void restart(String why);

        /**
         * Writes a new device key, announced by a rotation statement signed by the old key; the
         * agent uses it from its next start. Returns what to tell the operator.
         */
        Map<String, Object> rotateKey() throws Exception;
    }

    /** A handler from a name, a role and a function. */
    public static CommandHandler of(String name, Role role, Function<SignedCommand, CommandOutcome> run) {
        return new CommandHandler() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Role minimumRole() {
                return role;
            }

            @Override
            public CommandOutcome handle(SignedCommand command, ResultSink later) {
                return run.apply(command);
            }
        };
    }

    /** The built-in handlers for {@code board}. */
    public static List<CommandHandler> all(Board board, CommandService.AfterAnswer after, Clock clock) {
        return List.of(
                of(
                        "ping",
                        Role.VIEWER,
                        c -> CommandOutcome.ok(
                                Map.of("pong", true, "time", clock.instant().toString()))),
                of("status", Role.VIEWER, c -> CommandOutcome.ok(board.status())),
                of("report-now", Role.OPERATOR, c -> {
                    board.reportNow();
                    return CommandOutcome.ok(Map.of("report", "asked"));
                }),
                of("identify", Role.OPERATOR, c -> identify(board, c)),
                of("restart", Role.OPERATOR, c -> {
                    after.run(() -> board.restart("restart command " + c.id()));
                    return CommandOutcome.ok(Map.of("restarting", true));
                }),
                of("rotate-key", Role.ADMIN, c -> {
                    Map<String, Object> out;
                    try {
                        out = new LinkedHashMap<>(board.rotateKey());
                    } catch (Exception e) {
                        return CommandOutcome.failed("key not rotated: " + e.getMessage());
                    }
                    after.run(() -> board.restart("rotate-key command " + c.id() + ": starting with the new key"));
                    out.put("restarting", true);
                    return CommandOutcome.ok(out);
                }));
    }

    private static CommandOutcome identify(Board board, SignedCommand c) {
        Object s = c.args().getOrDefault("seconds", 30L);
        if (!(s instanceof Long seconds) || seconds < 1 || seconds > MAX_IDENTIFY.toSeconds()) {
            return CommandOutcome.refused("identify: seconds must be 1 to " + MAX_IDENTIFY.toSeconds());
        }
        String how = board.identify(Duration.ofSeconds(seconds));
        return CommandOutcome.ok(Map.of("identify", how, "seconds", seconds));
    }
}
