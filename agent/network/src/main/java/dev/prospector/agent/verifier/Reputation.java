package dev.prospector.agent.verifier;

/**
 * A device's audit reputation: the beta reputation that Storj's satellites keep. Each audit that
 * counts is evidence {@code v} (+1 success, -1 failure) of weight {@link #WEIGHT}, and older evidence
 * fades by {@link #LAMBDA}:
 *
 * <pre>
 * alpha' = LAMBDA * alpha + WEIGHT * (1 + v) / 2
 * beta'  = LAMBDA * beta  + WEIGHT * (1 - v) / 2
 * reputation = alpha / (alpha + beta)
 * </pre>
 *
 * A new device starts at {@code alpha = 1 / (1 - LAMBDA) = 20}, {@code beta = 0} (reputation 1), so
 * {@code alpha + beta} stays 20 and each failure moves the reputation by {@code (1 - r) * ...}: from
 * new, the n-th failure in a row leaves {@code 0.95^n}, so the 5th (0.774) is the first below
 * {@link #THRESHOLD}; three successes then bring it back (docs/REWARDS.md works it through).
 */
public record Reputation(double alpha, double beta) {
    public static final double LAMBDA = 0.95;
    public static final double WEIGHT = 1.0;
    /** Below this a device is disqualified for rewards (it recovers at or above it). */
    public static final double THRESHOLD = 0.8;

    public Reputation {
        if (!(alpha >= 0) || !(beta >= 0) || !(alpha + beta > 0) || Double.isInfinite(alpha + beta)) {
            throw new IllegalArgumentException("alpha and beta must be finite, not negative, and not both 0");
        }
    }

    /** A device never audited. */
    public static Reputation fresh() {
        return new Reputation(1 / (1 - LAMBDA), 0);
    }

    /** After an audit that passed. */
    public Reputation success() {
        return new Reputation(LAMBDA * alpha + WEIGHT, LAMBDA * beta);
    }

    /** After an audit that failed. */
    public Reputation failure() {
        return new Reputation(LAMBDA * alpha, LAMBDA * beta + WEIGHT);
    }

    public double value() {
        return alpha / (alpha + beta);
    }

    public boolean disqualified() {
        return value() < THRESHOLD;
    }
}
