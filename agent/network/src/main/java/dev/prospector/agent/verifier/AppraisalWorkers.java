package dev.prospector.agent.verifier;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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
 *
 * <h2>Waking the submitter once per refill, not after every task</h2>
 * Under a backlog the broker sends faster than the workers appraise, so a worker's queue is full
 * and Paho's callback thread waits in {@link #submit}. A queue that wakes a waiting producer after
 * every task taken ({@code ArrayBlockingQueue}) makes that a thread switch a report, and Paho's own
 * queue between its receiving and callback threads (ten messages) then switches once more: thread
 * dumps of a draining verifier found its callback thread waiting here and its receiving thread
 * waiting on Paho's queue in most samples. A {@link Lane} wakes its producer only when a
 * sixteenth of it has drained ({@link Lane#refill}), so each wake-up delivers that many tasks in one
 * go. Not more: the producer is one thread delivering in arrival order, and while it waits on a full
 * lane the other workers get nothing; waking it at half left a worker idle in one thread dump of
 * eight, its lane run dry behind the other.
 */
final class AppraisalWorkers implements AutoCloseable {
    /** Tasks waiting per worker, at most. */
    static final int QUEUE = 1024;

    private static final Runnable STOP = () -> {};

    private final List<Lane> queues = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    /** Starts {@code n} worker threads named {@code name-0}, {@code name-1}, ... */
    AppraisalWorkers(int n, String name) {
        if (n < 1) {
            throw new IllegalArgumentException("appraisal workers " + n + " is out of range: use 1 or more");
        }
        for (int i = 0; i < n; i++) {
            Lane q = new Lane(QUEUE);
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
        Lane q = queues.get(lane(device));
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

    private static void work(Lane q) {
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
            for (Lane q : queues) {
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

    /**
     * One worker's bounded FIFO: a producer that finds it full waits until {@link #refill} tasks have
     * been taken; the worker is woken when a task arrives in an empty queue.
     */
    static final class Lane {
        private final Runnable[] items;
        /** Tasks taken from a full lane before its waiting producer is woken: a sixteenth, at least 1. */
        final int refill;

        private final int lowWater;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition notEmpty = lock.newCondition();
        private final Condition drained = lock.newCondition();
        private int head; // guarded by lock
        private int count; // guarded by lock

        Lane(int capacity) {
            if (capacity < 2) {
                throw new IllegalArgumentException("a lane holds 2 tasks or more, not " + capacity);
            }
            this.items = new Runnable[capacity];
            this.refill = Math.max(1, capacity / 16);
            this.lowWater = capacity - refill;
        }

        /** Appends {@code task}, waiting up to {@code timeout} while the lane is full; false if it stayed full. */
        boolean offer(Runnable task, long timeout, TimeUnit unit) throws InterruptedException {
            long nanos = unit.toNanos(timeout);
            lock.lockInterruptibly();
            try {
                while (count == items.length) {
                    if (nanos <= 0) {
                        return false;
                    }
                    nanos = drained.awaitNanos(nanos);
                }
                items[(head + count) % items.length] = task;
                count++;
                if (count == 1) {
                    notEmpty.signal();
                }
                return true;
            } finally {
                lock.unlock();
            }
        }

        /** Removes the oldest task, waiting while there is none. */
        Runnable take() throws InterruptedException {
            lock.lockInterruptibly();
            try {
                while (count == 0) {
                    notEmpty.await();
                }
                Runnable task = items[head];
                items[head] = null;
                head = (head + 1) % items.length;
                count--;
                if (count == lowWater) {
                    drained.signalAll();
                }
                return task;
            } finally {
                lock.unlock();
            }
        }

        /** Tasks queued now. */
        int size() {
            lock.lock();
            try {
                return count;
            } finally {
                lock.unlock();
            }
        }
    }
}
