package dev.prospector.agent.verifier;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.tinylog.Logger;

/**
 * Sends the broker's acknowledgements in the order its messages arrived, although workers finish
 * them in any order (MQTT 5, 4.6: a client sends PUBACKs in the order of the PUBLISHes). A message
 * enters on arrival ({@link #enter}, on the one thread that receives) and is later either
 * acknowledged ({@link Slot#ack}) or let go unacknowledged ({@link Slot#release}: the broker sends
 * it again after a reconnect); acknowledgements go out when every message before theirs is done.
 * A message let go does not hold back those after it. What waits here is bounded by what the broker
 * has in flight for this client. Used by the verifier and by the Kafka bridge.
 *
 * <p>Sending an acknowledgement (Paho's {@code messageArrivedComplete}: a token, its locks, a
 * queued PUBACK) takes longer than the bookkeeping, so it happens outside the lock: the
 * acknowledgements that became due are moved, in order, to a list of ready ones, and one thread at a
 * time sends that list out, in order, until it is empty; a thread that finds another sending leaves
 * its own to it. Thread dumps of a draining verifier had a worker waiting for this lock in one
 * sample of eight when the sending happened under it.
 */
public final class AckOrder {
    private final ArrayDeque<Slot> pending = new ArrayDeque<>();
    private final ArrayDeque<Runnable> ready = new ArrayDeque<>(); // guarded by this
    private boolean sending; // guarded by this: a thread is sending the ready acknowledgements

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

    private void finish(Slot s, int state) {
        synchronized (this) {
            if (s.state != Slot.OPEN) {
                return;
            }
            s.state = state;
            while (!pending.isEmpty() && pending.peek().state != Slot.OPEN) {
                Slot head = pending.poll();
                if (head.state == Slot.ACKED) {
                    ready.add(head.ack);
                }
            }
            if (sending || ready.isEmpty()) {
                return; // nothing due, or the thread sending now sends these after its own, in order
            }
            sending = true;
        }
        sendReady();
    }

    /** Sends the ready acknowledgements in order until there are none; only one thread at a time. */
    private void sendReady() {
        List<Runnable> batch = new ArrayList<>();
        while (true) {
            synchronized (this) {
                if (ready.isEmpty()) {
                    sending = false;
                    return;
                }
                batch.addAll(ready);
                ready.clear();
            }
            for (Runnable ack : batch) {
                try {
                    ack.run();
                } catch (RuntimeException e) {
                    // Unsent: the broker sends the message again after a reconnect. Go on with the rest.
                    Logger.error(e, "sending an acknowledgement failed");
                }
            }
            batch.clear();
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
