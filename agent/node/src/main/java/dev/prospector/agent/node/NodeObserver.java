package dev.prospector.agent.node;

import dev.prospector.attest.Receipt;
import dev.prospector.hardware.Snapshot;
import java.time.Instant;

/**
 * What an {@link AgentNode} tells one observer (the dashboard) as it works: a board measured, a
 * report made, a receipt that counted, a connection made. Called on the node's own threads (the
 * report thread, Paho's callback threads), so an observer only records and never blocks or throws.
 */
public interface NodeObserver {
    /** An observer that records nothing. */
    NodeObserver NONE = new NodeObserver() {};

    /** A round of measurements, taken for a report. */
    default void measured(Snapshot snapshot) {}

    /** A report signed and stored in the outbox. */
    default void made(long seq, int bytes, Instant at) {}

    /** A receipt signed by a trusted verifier for the report with this seq, received at {@code at}. */
    default void receipt(long seq, Receipt receipt, Instant at) {}

    /** The broker connection came up (the first time, or again). */
    default void connected() {}
}
