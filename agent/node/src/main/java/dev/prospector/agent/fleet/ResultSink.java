package dev.prospector.agent.fleet;

/**
 * Where a handler sends the outcome of a command it answered {@link CommandOutcome.Status#PENDING}
 * (or a later, final outcome). The result is signed by the device key and published on the
 * device's {@code cmd/result} topic; while the board is offline it is queued, and it is kept in
 * the data dir so that it survives a restart (an update or a restart command sends its final
 * outcome from the next run).
 */
@FunctionalInterface
public interface ResultSink {
    void send(String commandId, CommandOutcome outcome);
}
