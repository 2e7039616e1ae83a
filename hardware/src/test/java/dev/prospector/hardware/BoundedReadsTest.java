package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BoundedReadsTest {

    private final MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
    private final CountDownLatch release = new CountDownLatch(1);
    private final BoundedReads reads = new BoundedReads(
            "test",
            List.of(
                    new BoundedReads.Group(
                            "fast", "fast-source", List.of("a"), out -> out.value("a", 1, "1", "fast-source")),
                    new BoundedReads.Group("hanging", "hang-source", List.of("b", "c"), out -> {
                        awaitUninterruptibly(release);
                        out.value("b", 2, "1", "hang-source");
                        out.value("c", 3, "1", "hang-source");
                    }),
                    new BoundedReads.Group("throwing", "bad-source", List.of("d"), out -> {
                        throw new IllegalStateException("driver bug");
                    })),
            clock,
            Duration.ofMillis(20));

    /** Like a read(2) stuck on a dying SD card: an interrupt does not end it. */
    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // keep waiting
            }
        }
    }

    @AfterEach
    void close() {
        release.countDown();
        reads.close();
    }

    private static String reason(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow();
        return assertInstanceOf(Reading.Unavailable.class, r, r::toString).reason();
    }

    @Test
    void theFirstRoundAllowsFourTimesTheTimeoutThenTheHungGroupTimesOut() {
        Snapshot s = reads.measure();
        assertEquals("timed out after 80 ms", reason(s, "b"));
        assertEquals("timed out after 80 ms", reason(s, "c"));
        assertEquals("hang-source", s.reading("b").orElseThrow().source());
        assertInstanceOf(Reading.Value.class, s.reading("a").orElseThrow());
    }

    @Test
    void aGroupStillHungIsNotStartedAgain() {
        reads.measure();
        long start = System.nanoTime();
        Snapshot s = reads.measure();
        assertTrue(reason(s, "b").startsWith("previous read still hung"), reason(s, "b"));
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(1).toNanos());
        // The hung read holds its thread; the other groups are read on another one.
        assertInstanceOf(Reading.Value.class, s.reading("a").orElseThrow());
        assertEquals("read failed: java.lang.IllegalStateException: driver bug", reason(s, "d"));
    }

    /** A board reads on one thread, not one per group (each thread costs a board memory). */
    @Test
    void everyGroupOfEveryRoundIsReadOnOneThread() {
        java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        BoundedReads.Task task = out -> threads.add(Thread.currentThread().getName());
        try (BoundedReads five = new BoundedReads(
                "one",
                List.of(
                        new BoundedReads.Group("g1", "s", List.of("a"), task),
                        new BoundedReads.Group("g2", "s", List.of("b"), task),
                        new BoundedReads.Group("g3", "s", List.of("c"), task),
                        new BoundedReads.Group("g4", "s", List.of("d"), task),
                        new BoundedReads.Group("g5", "s", List.of("e"), task)),
                clock,
                Duration.ofSeconds(5))) {
            for (int round = 0; round < 3; round++) {
                five.measure();
            }
        }
        assertEquals(1, threads.size(), threads::toString);
        assertTrue(threads.iterator().next().startsWith("prospector-one-read-"), threads::toString);
    }

    @Test
    void aHungGroupReadsAgainOnceItReturns() {
        reads.measure();
        release.countDown();
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> reads.measure().reading("c").orElseThrow() instanceof Reading.Value);
    }

    @Test
    void aThrowingGroupIsUnavailableWithTheCause() {
        release.countDown();
        assertEquals("read failed: java.lang.IllegalStateException: driver bug", reason(reads.measure(), "d"));
    }

    @Test
    void aClosedBoardSaysSo() {
        release.countDown();
        reads.close();
        assertEquals("board closed", reason(reads.measure(), "a"));
    }

    @Test
    void readingsKeepTheGroupsOrder() {
        release.countDown();
        Snapshot s = reads.measure();
        assertEquals(
                List.of("a", "b", "c", "d"),
                s.readings().stream().map(Reading::name).toList());
        assertEquals(clock.instant(), s.time());
    }
}
