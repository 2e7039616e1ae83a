package dev.prospector.agent.node;

import dev.prospector.agent.pos.PlotStore;

/**
 * What an agent has done since it started.
 *
 * @param made reports signed and stored in the outbox
 * @param sent reports the broker acknowledged at least once
 * @param pending reports in the outbox waiting for delivery
 * @param lost reports lost (dropped because the outbox was full, or their records damaged), declared in later reports
 * @param connected whether the broker connection is up
 * @param delivered reports confirmed delivered: by a trusted verifier's receipt (accepted), or by the
 *     broker when no verifier key is trusted
 * @param rejected reports a trusted verifier refused for good (they left the outbox)
 * @param publishes reports published, counting every re-send
 * @param receiptsRefused messages on the receipt topic that were not receipts signed by a trusted verifier
 * @param receiptsUnmatched receipts signed by a trusted verifier that named no report in flight (an
 *     answer to a copy sent again, one that came after its report left the outbox, or one whose seq
 *     differs from the report's)
 * @param endToEnd whether delivery is confirmed by signed receipts (true) or by the broker (false)
 * @param plot how far plotting has come (percent, MiB/s, time left), or why it stopped
 * @param auditsAnswered storage audits answered with openings
 * @param bandwidthTests bandwidth tests run (whether or not an endpoint answered)
 */
public record NodeStats(
        long made,
        long sent,
        int pending,
        long lost,
        boolean connected,
        long delivered,
        long rejected,
        long publishes,
        long receiptsRefused,
        long receiptsUnmatched,
        boolean endToEnd,
        PlotStore.Progress plot,
        long auditsAnswered,
        long bandwidthTests) {}
