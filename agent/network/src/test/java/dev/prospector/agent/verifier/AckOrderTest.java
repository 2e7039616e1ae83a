package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Acknowledgements leave in arrival order, whatever order the workers finish in. */
class AckOrderTest {
    @Test
    void anAckWaitsForEveryMessageBeforeIt() {
        AckOrder order = new AckOrder();
        List<Integer> sent = new ArrayList<>();
        AckOrder.Slot one = order.enter(() -> sent.add(1));
        AckOrder.Slot two = order.enter(() -> sent.add(2));
        AckOrder.Slot three = order.enter(() -> sent.add(3));
        three.ack();
        two.ack();
        assertEquals(List.of(), sent, "1 is not done: nothing may go before it");
        assertEquals(3, order.waiting());
        one.ack();
        assertEquals(List.of(1, 2, 3), sent);
        assertEquals(0, order.waiting());
    }

    @Test
    void aMessageLetGoIsNotAcknowledgedAndDoesNotHoldBackTheRest() {
        AckOrder order = new AckOrder();
        List<Integer> sent = new ArrayList<>();
        AckOrder.Slot one = order.enter(() -> sent.add(1));
        AckOrder.Slot two = order.enter(() -> sent.add(2));
        two.ack();
        one.release();
        assertEquals(List.of(2), sent);
        one.ack(); // too late: a slot finishes once
        assertEquals(List.of(2), sent);
    }

    @Test
    void workersFinishingConcurrentlyStillSendInArrivalOrder() throws Exception {
        AckOrder order = new AckOrder();
        List<Integer> sent = Collections.synchronizedList(new ArrayList<>());
        int n = 20_000;
        List<AckOrder.Slot> slots = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            slots.add(order.enter(() -> sent.add(id)));
        }
        List<AckOrder.Slot> shuffled = new ArrayList<>(slots);
        Collections.shuffle(shuffled, new Random(7));
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            for (int t = 0; t < threads; t++) {
                int from = t;
                pool.submit(() -> {
                    start.await();
                    for (int i = from; i < n; i += threads) {
                        shuffled.get(i).ack();
                    }
                    return null;
                });
            }
            start.countDown();
            pool.shutdown();
            assertEquals(true, pool.awaitTermination(30, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(i);
        }
        assertEquals(expected, sent, "every acknowledgement once, in arrival order");
        assertEquals(0, order.waiting());
    }

    @Test
    void anAckDueWhileAnotherThreadSendsIsSentByThatThreadAfterItsOwn() throws Exception {
        AckOrder order = new AckOrder();
        List<Integer> sent = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch sendingOne = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        AckOrder.Slot one = order.enter(() -> {
            sendingOne.countDown();
            try {
                proceed.await(); // still sending 1 when 2 becomes due
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            sent.add(1);
        });
        AckOrder.Slot two = order.enter(() -> sent.add(2));
        Thread worker = new Thread(one::ack);
        worker.start();
        assertEquals(true, sendingOne.await(10, TimeUnit.SECONDS));
        two.ack(); // must not send 2 itself: 1 is on its way, not out yet
        assertEquals(List.of(), sent);
        proceed.countDown();
        worker.join(10_000);
        assertEquals(List.of(1, 2), sent);
    }

    @Test
    void anAcknowledgementThatFailsDoesNotHoldBackTheRest() {
        AckOrder order = new AckOrder();
        List<Integer> sent = new ArrayList<>();
        AckOrder.Slot one = order.enter(() -> {
            throw new IllegalStateException("not connected");
        });
        AckOrder.Slot two = order.enter(() -> sent.add(2));
        two.ack();
        one.ack();
        assertEquals(List.of(2), sent);
        AckOrder.Slot three = order.enter(() -> sent.add(3));
        three.ack();
        assertEquals(List.of(2, 3), sent, "the sender was let go after the failure");
    }

    @Test
    void eachSlotAcknowledgesOnce() {
        AckOrder order = new AckOrder();
        List<Integer> sent = new ArrayList<>();
        AckOrder.Slot one = order.enter(() -> sent.add(1));
        one.ack();
        one.ack();
        one.release();
        assertEquals(List.of(1), sent);
    }
}
