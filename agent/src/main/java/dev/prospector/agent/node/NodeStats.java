package dev.prospector.agent.node;

/**
 * What an agent has done since it started.
 *
 * @param made reports signed and stored in the outbox
 * @param sent reports the broker acknowledged
 * @param pending reports in the outbox waiting for the broker
 * @param lost reports dropped because the outbox was full (declared in later reports)
 * @param connected whether the broker connection is up
 */
public record NodeStats(long made, long sent, int pending, long lost, boolean connected) {
}
