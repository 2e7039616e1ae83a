package dev.prospector.agent.update;

/**
 * Whether the agent is healthy enough to keep a change on trial: connected to the broker and a
 * first report of this run accepted (a trusted verifier's receipt, or the broker's acknowledgement
 * when the board trusts no verifier key). A function of the node's statistics, given by the wiring.
 */
@FunctionalInterface
public interface HealthCheck {
    boolean healthy();
}
