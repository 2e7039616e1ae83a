package dev.prospector.agent.update;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class TrialWatchTest {
    private static final Instant DEADLINE = Instant.ofEpochSecond(100);

    @Test
    void healthBeforeTheDeadlineKeepsTheChange() {
        assertEquals(TrialWatch.Verdict.HEALTHY, TrialWatch.verdict(true, DEADLINE.minusSeconds(1), DEADLINE));
        assertEquals(TrialWatch.Verdict.WAITING, TrialWatch.verdict(false, DEADLINE.minusSeconds(1), DEADLINE));
        assertEquals(TrialWatch.Verdict.EXPIRED, TrialWatch.verdict(false, DEADLINE, DEADLINE));
    }

    @Test
    void exactlyOneEndRunsOnce() {
        var timer = Executors.newSingleThreadScheduledExecutor();
        try {
            AtomicBoolean healthy = new AtomicBoolean();
            AtomicInteger kept = new AtomicInteger();
            AtomicInteger undone = new AtomicInteger();
            Clock clock = Clock.fixed(DEADLINE.minusSeconds(5), ZoneOffset.UTC);
            var w = TrialWatch.start(
                    timer,
                    clock,
                    new Trial("c", "x", "", "", DEADLINE),
                    healthy::get,
                    kept::incrementAndGet,
                    undone::incrementAndGet);
            healthy.set(true);
            Awaitility.await().until(w::ended);
            assertEquals(1, kept.get());
            assertEquals(0, undone.get());
        } finally {
            timer.shutdownNow();
        }
    }
}
