package dev.prospector.agent.verifier;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The score of a device for one epoch, and its reward (docs/REWARDS.md, "Score and reward"):
 *
 * <pre>
 * score  = 0 if disqualified, else uptime * (0.4 + 0.3 * bandwidth multiplier + 0.3 * min(storage / target, 1))
 * reward = floor(score * reward per epoch)
 * </pre>
 *
 * The bandwidth multiplier follows Helium's speed test tiers: each dimension (download, upload,
 * latency) has a tier, and the worst of them caps the multiplier; fewer than {@link #MIN_TESTS}
 * tests give 0.
 */
public final class Scoring {
    /** Fewest bandwidth tests in the window for a bandwidth multiplier above 0. */
    public static final int MIN_TESTS = 2;
    /** Highest figure believed, in Mbit/s, whatever the receipts say. */
    public static final double MAX_MBPS = 1000;

    static final double[] MULTIPLIERS = {1.0, 0.75, 0.5, 0.25};
    static final double[] DOWN_MBPS = {100, 50, 25, 5};
    static final double[] UP_MBPS = {20, 10, 5, 1};
    static final double[] LATENCY_MS = {50, 100, 200, 500};
    /**
     * The latency multiplier when no test measured a round trip: the worst, so that a board whose
     * round trips are slow gains nothing by leaving them out (boards always measure one).
     */
    static final double UNMEASURED_LATENCY = 0;

    private Scoring() {}

    /** One bandwidth test: the medians over trusted endpoints' receipts for its nonce (NaN: not measured). */
    public record Test(long atMillis, double downMbps, double upMbps, double rttMillis) {
        boolean counts() {
            return !Double.isNaN(downMbps) || !Double.isNaN(upMbps);
        }
    }

    /** A device's score for one epoch. */
    public record EpochScore(
            long epoch,
            double uptimePct,
            long storageProvenBytes,
            OptionalDouble downMbps,
            OptionalDouble upMbps,
            OptionalDouble latencyMs,
            double reputation,
            int samples,
            double bandwidthMultiplier,
            String tier,
            double score,
            long reward,
            Optional<String> disqualified) {}

    static double tierAtLeast(double value, double[] bounds) {
        for (int i = 0; i < bounds.length; i++) {
            if (value >= bounds[i]) {
                return MULTIPLIERS[i];
            }
        }
        return 0;
    }

    static double tierAtMost(double value, double[] bounds) {
        for (int i = 0; i < bounds.length; i++) {
            if (value <= bounds[i]) {
                return MULTIPLIERS[i];
            }
        }
        return 0;
    }

    static OptionalDouble median(List<Double> values) {
        List<Double> v = new ArrayList<>();
        for (double d : values) {
            if (!Double.isNaN(d)) {
                v.add(d);
            }
        }
        if (v.isEmpty()) {
            return OptionalDouble.empty();
        }
        Collections.sort(v);
        int n = v.size();
        return OptionalDouble.of(n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2);
    }

    /**
     * The score of an epoch.
     *
     * @param uptimeFraction the share of the epoch the device was credited as up, 0..1
     * @param provenBytes plot bytes proven by audits (0 when none passed)
     * @param tests the bandwidth tests of the window
     * @param disqualified why the device is disqualified, if it is
     */
    public static EpochScore score(
            long epoch,
            double uptimeFraction,
            long provenBytes,
            long storageTarget,
            List<Test> tests,
            double reputation,
            Optional<String> disqualified,
            long rewardPerEpoch) {
        double uptime = Math.max(0, Math.min(1, uptimeFraction));
        List<Test> counted = tests.stream().filter(Test::counts).toList();
        OptionalDouble down = median(counted.stream().map(Test::downMbps).toList());
        OptionalDouble up = median(counted.stream().map(Test::upMbps).toList());
        OptionalDouble rtt = median(counted.stream().map(Test::rttMillis).toList());
        double multiplier;
        String tier;
        if (counted.size() < MIN_TESTS) {
            multiplier = 0;
            tier = "insufficient samples (" + counted.size() + " of " + MIN_TESTS + " tests)";
        } else {
            double d = down.isPresent() ? tierAtLeast(down.getAsDouble(), DOWN_MBPS) : 0;
            double u = up.isPresent() ? tierAtLeast(up.getAsDouble(), UP_MBPS) : 0;
            double l = rtt.isPresent() ? tierAtMost(rtt.getAsDouble(), LATENCY_MS) : UNMEASURED_LATENCY;
            multiplier = Math.min(d, Math.min(u, l));
            String worst = multiplier == d ? "download" : multiplier == u ? "upload" : "latency";
            tier = String.format(
                    Locale.ROOT,
                    "x%.2f, capped by %s%s",
                    multiplier,
                    worst,
                    rtt.isPresent() ? "" : " (latency not measured: x0)");
        }
        double storage = Math.min(1.0, (double) provenBytes / storageTarget);
        double score = disqualified.isPresent() ? 0 : uptime * (0.4 + 0.3 * multiplier + 0.3 * storage);
        // The epsilon keeps 0.925 * 1000 from flooring to 924 through rounding in the sum.
        long reward = (long) Math.floor(score * rewardPerEpoch + 1e-9);
        return new EpochScore(
                epoch,
                uptime * 100,
                disqualified.isPresent() ? 0 : provenBytes,
                down,
                up,
                rtt,
                reputation,
                counted.size(),
                multiplier,
                tier,
                score,
                reward,
                disqualified);
    }
}
