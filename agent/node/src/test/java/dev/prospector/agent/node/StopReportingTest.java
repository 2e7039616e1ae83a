package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AgentNode#stopReporting} returns only once the report thread is idle: a report being
 * signed when it is called is in the outbox (and counted) by the time it returns, so whoever then
 * waits for the outbox to empty does not miss it (the demo on a slow board did).
 */
class StopReportingTest {
    @TempDir
    Path dir;

    @Test
    void stopReportingWaitsForTheWorkOnTheReportThread() throws Exception {
        var settings = BrokerAway.settings(dir.resolve("board"));
        try (AgentNode node = AgentWiring.agent(settings, Clock.systemUTC())) {
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            // Work on the report thread that takes a while, as signing a report does on a slow board.
            node.every(Duration.ofMillis(1), () -> {
                running.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(running.await(10, TimeUnit.SECONDS));
            CountDownLatch stopped = new CountDownLatch(1);
            Thread stopper = new Thread(() -> {
                node.stopReporting();
                stopped.countDown();
            });
            stopper.start();
            Awaitility.await("stopReporting waits for the running work")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> stopper.getState() == Thread.State.TIMED_WAITING);
            assertEquals(1, stopped.getCount(), "returned while the report thread was still busy");
            release.countDown();
            assertTrue(stopped.await(10, TimeUnit.SECONDS), "returns once the work is done");
            stopper.join(10_000);
        }
    }
}
