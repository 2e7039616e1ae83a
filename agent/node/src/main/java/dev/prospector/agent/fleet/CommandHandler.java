package dev.prospector.agent.fleet;

/**
 * One command a board can run. The {@code CommandService} calls it only for a command that is
 * signed by an operator key the board obeys, whose role is at least {@link #minimumRole()},
 * addressed to this board, within its validity and never seen before.
 *
 * <p>Implementations must not block the MQTT thread for long: work that takes more than a moment
 * answers {@link CommandOutcome.Status#PENDING} at once and sends the final outcome later through
 * the {@link ResultSink}.
 */
public interface CommandHandler {
    /** The command's name on the wire, e.g. {@code set-config}. */
    String name();

    /** The lowest role allowed to run it. */
    Role minimumRole();

    /**
     * Runs the command. A thrown exception is answered as {@link CommandOutcome.Status#FAILED}
     * with its message; anything else the handler wants said goes into the outcome.
     *
     * @param later where to send the final outcome of a command answered {@code PENDING}
     */
    CommandOutcome handle(SignedCommand command, ResultSink later) throws Exception;
}
