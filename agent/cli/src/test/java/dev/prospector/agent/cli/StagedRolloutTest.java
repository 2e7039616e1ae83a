package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class StagedRolloutTest {
    private static List<String> boards(int n) {
        return IntStream.range(0, n).mapToObj(i -> "board-" + i).toList();
    }

    private static StagedRollout.Dispatcher failing(Set<String> bad) {
        return t -> CompletableFuture.completedFuture(new StagedRollout.Result(
                t, bad.contains(t) ? StagedRollout.State.FAILED : StagedRollout.State.SUCCEEDED, ""));
    }

    @Test
    void everyTargetGetsItWhenNothingFails() throws Exception {
        var s = new StagedRollout.Settings(StagedRollout.Rate.parse("1000/s"), 5, 1, Duration.ofSeconds(5));
        var r = StagedRollout.run(boards(20), s, failing(Set.of()), (x, f, b, t) -> {});
        assertTrue(r.allSucceeded());
        assertEquals(20, r.count(StagedRollout.State.SUCCEEDED));
    }

    @Test
    void aRolloutStopsOnceTheFailureRatePassesTheThreshold() throws Exception {
        List<String> sentTo = new ArrayList<>();
        var s = new StagedRollout.Settings(StagedRollout.Rate.parse("1000/s"), 20, 5, Duration.ofSeconds(5));
        StagedRollout.Dispatcher d = t -> {
            synchronized (sentTo) {
                sentTo.add(t);
            }
            return failing(Set.of("board-1", "board-3", "board-4")).send(t);
        };
        var r = StagedRollout.run(boards(100), s, d, (x, f, b, t) -> {});
        System.out.println("rollout to 100, boards 1, 3, 4 fail, abort after 20% of at least 5: " + r.abortReason());
        assertTrue(r.aborted());
        assertFalse(r.allSucceeded());
        assertTrue(sentTo.size() < 10, "stopped early: sent to " + sentTo.size());
        assertEquals(100 - sentTo.size(), r.count(StagedRollout.State.NOT_SENT));
    }

    @Test
    void aTargetWithoutAFinalAnswerTimesOutAndCountsAsAFailure() throws Exception {
        var s = new StagedRollout.Settings(StagedRollout.Rate.parse("1000/s"), 0, 1, Duration.ofMillis(200));
        var r = StagedRollout.run(List.of("mute"), s, t -> new CompletableFuture<>(), (x, f, b, t) -> {});
        assertEquals(StagedRollout.State.TIMED_OUT, r.results().get(0).state());
        assertFalse(r.allSucceeded());
    }

    @Test
    void ratesAndPercentagesParseOrSayWhatIsWrong() {
        assertEquals(Duration.ofSeconds(6), StagedRollout.Rate.parse("10/min").spacing());
        assertEquals(Duration.ofMillis(500), StagedRollout.Rate.parse("2/s").spacing());
        assertEquals(5.0, StagedRollout.Settings.percent("5%"));
        var e = assertThrows(IllegalArgumentException.class, () -> StagedRollout.Rate.parse("fast"));
        assertTrue(e.getMessage().contains("10/min"));
    }
}
