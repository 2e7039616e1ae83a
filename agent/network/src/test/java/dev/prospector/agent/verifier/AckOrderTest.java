package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
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
