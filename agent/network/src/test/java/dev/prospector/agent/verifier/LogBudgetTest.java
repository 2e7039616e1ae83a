package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class LogBudgetTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final LogBudget budget = new LogBudget(3, Duration.ofSeconds(10), now::get);

    @Test
    void letsTheWindowsLinesThroughThenCountsTheRestIntoTheNextLine() {
        assertEquals(List.of(0L, 0L, 0L, LogBudget.HOLD, LogBudget.HOLD), take(5));
        now.addAndGet(Duration.ofSeconds(9).toNanos());
        assertEquals(List.of(LogBudget.HOLD), take(1), "the same window");
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertEquals(List.of(3L, 0L, 0L, LogBudget.HOLD), take(4), "a new window: the first line says 3 held back");
        now.addAndGet(Duration.ofMinutes(5).toNanos());
        assertEquals(List.of(1L, 0L), take(2), "the count waits for the next line, however late");
    }

    @Test
    void aQuietSourceLogsEveryLine() {
        for (int i = 0; i < 50; i++) {
            assertEquals(0, budget.take(), "line " + i);
            now.addAndGet(Duration.ofSeconds(4).toNanos());
        }
    }

    @Test
    void workersSharingABudgetNeitherLoseNorDoubleCountALine() throws Exception {
        LogBudget shared = new LogBudget(20, Duration.ofHours(1));
        LongAdder through = new LongAdder();
        LongAdder held = new LongAdder();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < 10_000; i++) {
                    if (shared.take() == LogBudget.HOLD) {
                        held.increment();
                    } else {
                        through.increment();
                    }
                }
            });
            thread.start();
            threads.add(thread);
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(20, through.sum());
        assertEquals(40_000 - 20, held.sum());
    }

    @Test
    void aBudgetWithoutLinesOrWindowIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LogBudget(0, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new LogBudget(1, Duration.ZERO));
    }

    @Test
    void aHeldBackCountNamesTheBudget() {
        assertEquals(
                "7 more accepted since the previous such line, not logged one by one (over 3 in 10 s; --debug logs each)",
                OutcomeLog.heldBack(7, "accepted", budget));
    }

    private List<Long> take(int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(budget.take());
        }
        return out;
    }
}
