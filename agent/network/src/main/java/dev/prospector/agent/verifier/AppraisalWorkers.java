package dev.prospector.agent.verifier;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * A verifier's appraisal workers: {@code n} threads, each with a bounded queue of its own, and every
 * device pinned to one of them ({@link #lane}: a hash of the device id), so one device's reports are
 * appraised one at a time and in the order they arrived while different devices use every core.
 *
 * <p>{@link #submit} waits while the device's queue is full. The thread that submits is Paho's
 * callback thread, so a full queue stops reading from the broker (TCP back-pressure) instead of
 * growing memory; nothing a worker does waits for that thread (publishes only queue), so this
 * cannot deadlock. The queues hold at most what the broker has in flight for the verifier anyway
 * (messages stay unacknowledged until appraised), {@link #QUEUE} bounds it whatever the broker's
 * setting.
 */
final class AppraisalWorkers implements AutoCloseable {
    /** Tasks waiting per worker, at most. */
    static final int QUEUE = 1024;

    private static final Runnable STOP = () -> {};

    private final List<BlockingQueue<Runnable>> queues = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    /** Starts {@code n} worker threads named {@code name-0}, {@code name-1}, ... */
    AppraisalWorkers(int n, String name) {
        if (n < 1) {
            throw new IllegalArgumentException("appraisal workers " + n + " is out of range: use 1 or more");
        }
        for (int i = 0; i < n; i++) {
            BlockingQueue<Runnable> q = new ArrayBlockingQueue<>(QUEUE);
            Thread t = new Thread(() -> work(q), name + "-" + i);
            t.setDaemon(true);
            queues.add(q);
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    /** How many workers. */
    int size() {
        return queues.size();
    }

    /** The worker that owns {@code device}: the same for every call with the same id. */
    int lane(String device) {
        int h = device.hashCode();
        h ^= h >>> 16; // device ids differ in their last characters too; spread them over the low bits
        return Math.floorMod(h, queues.size());
    }

    /**
     * Queues {@code task} on {@code device}'s worker, waiting while its queue is full; false when
     * the workers are closed (the task will not run).
     */
    boolean submit(String device, Runnable task) {
        BlockingQueue<Runnable> q = queues.get(lane(device));
        try {
            while (!closed) {
                if (q.offer(task, 100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    private static void work(BlockingQueue<Runnable> q) {
        while (true) {
            Runnable task;
            try {
                task = q.take();
            } catch (InterruptedException e) {
                return;
            }
            if (task == STOP) {
                return;
            }
            try {
                task.run();
            } catch (RuntimeException e) {
                Logger.error(e, "an appraisal task failed");
            }
        }
    }

    /**
     * Takes no new task, lets each worker finish what is queued (up to {@code wait} in all), then
     * stops them. Idempotent.
     */
    void close(Duration wait) {
        closed = true;
        long deadline = System.nanoTime() + wait.toNanos();
        try {
            for (BlockingQueue<Runnable> q : queues) {
                long left = Math.max(0, deadline - System.nanoTime());
                if (!q.offer(STOP, left, TimeUnit.NANOSECONDS)) {
                    break;
                }
            }
            for (Thread t : threads) {
                long left = deadline - System.nanoTime();
                if (left > 0 && t != Thread.currentThread()) {
                    TimeUnit.NANOSECONDS.timedJoin(t, left);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Thread t : threads) {
            if (t.isAlive() && t != Thread.currentThread()) {
                t.interrupt();
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
