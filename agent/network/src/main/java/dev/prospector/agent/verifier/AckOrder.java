package dev.prospector.agent.verifier;

import java.util.ArrayDeque;

/**
 * Sends the broker's acknowledgements in the order its messages arrived, although workers finish
 * them in any order (MQTT 5, 4.6: a client sends PUBACKs in the order of the PUBLISHes). A message
 * enters on arrival ({@link #enter}, on the one thread that receives) and is later either
 * acknowledged ({@link Slot#ack}) or let go unacknowledged ({@link Slot#release}: the broker sends
 * it again after a reconnect); acknowledgements go out when every message before theirs is done.
 * A message let go does not hold back those after it. What waits here is bounded by what the broker
 * has in flight for this client. Used by the verifier and by the Kafka bridge.
 */
public final class AckOrder {
    private final ArrayDeque<Slot> pending = new ArrayDeque<>();

    /** A message, in arrival order; {@code ack} sends its acknowledgement. */
    public synchronized Slot enter(Runnable ack) {
        Slot s = new Slot(ack);
        pending.add(s);
        return s;
    }

    /** Messages entered and not yet acknowledged or let go, or waiting behind one that is not. */
    public synchronized int waiting() {
        return pending.size();
    }

    private synchronized void finish(Slot s, int state) {
        if (s.state != Slot.OPEN) {
            return;
        }
        s.state = state;
        // Acknowledged under the lock so that two threads cannot send them out of order; sending
        // one only queues it in Paho.
        while (!pending.isEmpty() && pending.peek().state != Slot.OPEN) {
            Slot head = pending.poll();
            if (head.state == Slot.ACKED) {
                head.ack.run();
            }
        }
    }

    /** One message's place in the order. Each method counts once; later calls do nothing. */
    public final class Slot {
        static final int OPEN = 0;
        static final int ACKED = 1;
        static final int RELEASED = 2;

        private final Runnable ack;
        private int state = OPEN; // guarded by AckOrder.this

        private Slot(Runnable ack) {
            this.ack = ack;
        }

        /** Acknowledge the message (once all before it are done). */
        public void ack() {
            finish(this, ACKED);
        }

        /** Leave the message unacknowledged; those after it go on. */
        public void release() {
            finish(this, RELEASED);
        }
    }
}
