package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Each device is pinned to one worker: its tasks run one at a time, in order; devices spread. */
class AppraisalWorkersTest {
    @Test
    void oneDevicesTasksRunInOrderOnOneThreadWhileDevicesUseEveryWorker() throws Exception {
        int devices = 64;
        int perDevice = 200;
        Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
        Map<String, Set<String>> threads = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(devices * perDevice);
        try (AppraisalWorkers workers = new AppraisalWorkers(4, "test")) {
            for (int i = 0; i < perDevice; i++) {
                for (int d = 0; d < devices; d++) {
                    String device = "dev-" + d;
                    int seq = i;
                    assertTrue(workers.submit(device, () -> {
                        seen.computeIfAbsent(device, k -> new CopyOnWriteArrayList<>())
                                .add(seq);
                        threads.computeIfAbsent(device, k -> ConcurrentHashMap.newKeySet())
                                .add(Thread.currentThread().getName());
                        done.countDown();
                    }));
                }
            }
            assertTrue(done.await(30, TimeUnit.SECONDS), "every task ran");
            Set<String> used = new HashSet<>();
            for (int d = 0; d < devices; d++) {
                String device = "dev-" + d;
                List<Integer> expected = new ArrayList<>();
                for (int i = 0; i < perDevice; i++) {
                    expected.add(i);
                }
                assertEquals(expected, seen.get(device), device + "'s tasks in submission order");
                assertEquals(1, threads.get(device).size(), device + " stays on one worker");
                assertEquals(
                        "test-" + workers.lane(device),
                        threads.get(device).iterator().next());
                used.addAll(threads.get(device));
            }
            assertEquals(4, used.size(), "64 devices spread over all 4 workers: " + used);
        }
    }

    @Test
    void closingFinishesWhatIsQueuedAndRefusesNewTasks() throws Exception {
        List<Integer> ran = new CopyOnWriteArrayList<>();
        AppraisalWorkers workers = new AppraisalWorkers(2, "test");
        CountDownLatch release = new CountDownLatch(1);
        workers.submit("a", () -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ran.add(1);
        });
        workers.submit("a", () -> ran.add(2));
        release.countDown();
        workers.close(Duration.ofSeconds(10));
        assertEquals(List.of(1, 2), ran);
        assertFalse(workers.submit("a", () -> ran.add(3)), "closed: refused");
        assertEquals(List.of(1, 2), ran);
    }

    @Test
    void aFullLaneWakesItsProducerOnlyWhenASixteenthHasDrained() throws Exception {
        AppraisalWorkers.Lane lane = new AppraisalWorkers.Lane(64);
        assertEquals(4, lane.refill);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int id = i;
            assertTrue(lane.offer(() -> order.add(id), 0, TimeUnit.SECONDS));
        }
        assertFalse(lane.offer(() -> {}, 0, TimeUnit.SECONDS), "full: a zero wait gives up");
        CountDownLatch offered = new CountDownLatch(1);
        Thread producer = new Thread(() -> {
            try {
                if (lane.offer(() -> order.add(64), 30, TimeUnit.SECONDS)) {
                    offered.countDown();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        producer.start();
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> producer.getState() == Thread.State.TIMED_WAITING);
        for (int i = 0; i < 3; i++) {
            lane.take().run();
        }
        assertEquals(61, lane.size(), "3 taken of the 4 that wake it: the producer still waits");
        assertEquals(1, offered.getCount());
        lane.take().run();
        assertTrue(offered.await(10, TimeUnit.SECONDS), "the fourth wakes it, and it adds its task");
        producer.join();
        while (lane.size() > 0) {
            lane.take().run();
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i <= 64; i++) {
            expected.add(i);
        }
        assertEquals(expected, order, "first in, first out");
    }
}
