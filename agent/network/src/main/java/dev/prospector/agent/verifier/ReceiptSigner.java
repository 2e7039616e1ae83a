package dev.prospector.agent.verifier;

import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.tinylog.Logger;

/**
 * Signs a verifier's receipts and hands them to the link, as many under one signature as are
 * waiting ({@link ReceiptBatch}, at most {@code maxBatch}), on a thread of its own.
 *
 * <h2>Design</h2>
 * Group commit, as a database log does: the appraisal workers queue a receipt ({@link #submit}),
 * acknowledge the report and go on with the next; this thread takes whatever is queued, signs it as
 * one batch and publishes each receipt. At a light load each receipt is alone in its batch and goes
 * out at once as it always did (one COSE_Sign1, no path). When a batch held more than one receipt
 * (reports are queuing up), the next waits up to {@link #LINGER} to fill, so the signatures per
 * report fall as the load rises (measured in docs/BENCHMARKS.md, "Network side").
 *
 * <p>The report is acknowledged before its receipt is signed: the guarantee is the same as when the
 * workers published receipts themselves, since a publish handed to Paho was only queued there and a
 * crash lost it as well; what makes up for a lost receipt is the board, which sends its report again
 * until a receipt comes (and gets a duplicate's). The queue is bounded ({@link #QUEUE}); a full one
 * holds the submitting worker back, which holds Paho's callback thread back, which stops reading
 * from the broker: back-pressure, as for the workers' own queues. {@link #close} lets what is queued
 * go out, then stops.
 *
 * <p>The Kafka verifier uses it too, submitting a poll's receipts after its transaction commits, so
 * that its poll loop goes on with the next poll while they are signed and sent.
 */
public final class ReceiptSigner implements AutoCloseable {
    /** Receipts waiting, at most. */
    static final int QUEUE = 4096;

    /** Where a signed receipt goes: the device's receipt topic. */
    @FunctionalInterface
    public interface Publisher {
        void publish(String topic, byte[] message);
    }

    private record Pending(String topic, Receipt receipt) {}

    private static final Pending STOP = new Pending("", null);

    /**
     * How long a batch waits for more receipts, at most, when the one before it held more than one
     * (reports are queuing up); a lone receipt at a light load never waits.
     */
    static final Duration LINGER = Duration.ofMillis(2);

    private final DeviceKeys key;
    private final int maxBatch;
    private final Publisher publisher;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Thread thread;
    private final LongAdder signatures = new LongAdder();
    private final LongAdder signed = new LongAdder();
    private volatile boolean closed;

    /** @param maxBatch receipts under one signature, at most: 1 signs each alone */
    public ReceiptSigner(DeviceKeys key, int maxBatch, Publisher publisher, String name) {
        if (maxBatch < 1 || maxBatch > ReceiptBatch.MAX_LEAVES) {
            throw new IllegalArgumentException(
                    "receipts per signature " + maxBatch + " is out of range: use 1 to " + ReceiptBatch.MAX_LEAVES);
        }
        this.key = key;
        this.maxBatch = maxBatch;
        this.publisher = publisher;
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues {@code receipt} for {@code topic}. Waits while the queue is full; false once closed. */
    public boolean submit(String topic, Receipt receipt) {
        Pending p = new Pending(topic, receipt);
        try {
            while (!closed) {
                if (queue.offer(p, 100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /** Signatures made so far. */
    public long signatures() {
        return signatures.sum();
    }

    /** Receipts signed so far. */
    public long receipts() {
        return signed.sum();
    }

    private void run() {
        List<Pending> batch = new ArrayList<>(maxBatch);
        List<Receipt> receipts = new ArrayList<>(maxBatch);
        boolean stop = false;
        int lastBatch = 1;
        while (!stop) {
            batch.clear();
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, maxBatch - 1);
            if (lastBatch > 1) {
                linger(batch);
            }
            int stopAt = stopIndex(batch);
            if (stopAt >= 0) {
                stop = true;
                batch.subList(stopAt, batch.size()).clear();
                if (batch.isEmpty()) {
                    break;
                }
            }
            receipts.clear();
            batch.forEach(p -> receipts.add(p.receipt()));
            List<byte[]> messages;
            try {
                messages = ReceiptBatch.sign(receipts, key);
            } catch (RuntimeException e) {
                // A bug. Their boards send the reports again, and get a duplicate's receipt.
                Logger.error(e, "signing {} receipt(s) failed; they are not sent", batch.size());
                continue;
            }
            lastBatch = batch.size();
            signatures.increment();
            signed.add(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                Pending p = batch.get(i);
                try {
                    publisher.publish(p.topic(), messages.get(i));
                } catch (RuntimeException e) {
                    Logger.error(e, "publishing a receipt on {} failed", p.topic());
                }
            }
        }
    }

    /**
     * Adds what arrives within {@link #LINGER} to {@code batch}, up to {@code maxBatch}: sleeps, then
     * takes what came. Not a wait on the queue, which every new receipt would wake.
     */
    private void linger(List<Pending> batch) {
        if (batch.size() >= maxBatch || stopIndex(batch) >= 0) {
            return;
        }
        java.util.concurrent.locks.LockSupport.parkNanos(LINGER.toNanos());
        queue.drainTo(batch, maxBatch - batch.size());
    }

    private static int stopIndex(List<Pending> batch) {
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i) == STOP) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Takes no new receipt, lets the queued ones go out (up to {@code wait}), then stops. Idempotent.
     */
    public void close(Duration wait) {
        closed = true;
        try {
            if (!queue.offer(STOP, wait.toMillis(), TimeUnit.MILLISECONDS)) {
                thread.interrupt();
            }
            if (thread != Thread.currentThread()) {
                thread.join(Math.max(1, wait.toMillis()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive() && thread != Thread.currentThread()) {
            thread.interrupt();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
