package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ScoringTest {
    private static Scoring.EpochScore score(List<Scoring.Test> tests) {
        return Scoring.score(1, 1.0, 0, 1L << 30, tests, 1.0, Optional.empty(), 1000);
    }

    @Test
    void leavingOutTheRoundTripsGainsNothing() {
        // Fast links, slow round trips (700 ms: the worst tier) against the same tests without them.
        var slow = score(List.of(new Scoring.Test(1, 200, 50, 700), new Scoring.Test(2, 200, 50, 700)));
        var hidden = score(List.of(new Scoring.Test(1, 200, 50, Double.NaN), new Scoring.Test(2, 200, 50, Double.NaN)));
        assertEquals(0, slow.bandwidthMultiplier());
        assertEquals(0, hidden.bandwidthMultiplier());
        assertTrue(hidden.tier().contains("latency not measured"), hidden.tier());
        assertEquals(slow.score(), hidden.score());
    }

    @Test
    void theWorstDimensionCapsTheMultiplier() {
        var s = score(List.of(new Scoring.Test(1, 90, 30, 20), new Scoring.Test(2, 90, 30, 20)));
        assertEquals(0.75, s.bandwidthMultiplier());
        assertEquals(625, s.reward(), "0.4 + 0.3 x 0.75, no storage proven");
        var one = score(List.of(new Scoring.Test(1, 900, 300, 5)));
        assertEquals(0, one.bandwidthMultiplier(), "one test is below the minimum of two");
    }
}
