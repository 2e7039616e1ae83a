package dev.prospector.hardware;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.tinylog.Logger;

/**
 * Runs a board's groups of reads with one deadline per round, so that {@link Board#measure()}
 * never stalls.
 *
 * <p>Each group (system files, network, storage, power sensor, ...) runs on its own daemon
 * thread; the round waits for all of them until the deadline, and a group that has not finished
 * by then gives {@link Reading.Unavailable} "timed out" for each of its readings. A read that
 * hangs in the kernel (a dying SD card, a wedged I2C bus) cannot always be interrupted, so a
 * group whose previous read is still running is not started again: it reports "still hung"
 * at once. That bounds the threads to one per group, however long the hang lasts.
 */
final class BoundedReads implements AutoCloseable {

    /** One group of reads. {@code names} are the readings it gives (used when it fails). */
    record Group(String name, String source, List<String> names, Task task) {
        Group {
            names = List.copyOf(names);
        }
    }

    /** Reads a group into {@code out}; should not throw, but a thrown exception is contained. */
    @FunctionalInterface
    interface Task {
        void read(Readings out) throws Exception;
    }

    /**
     * The first round may take this many times the timeout: it starts the reader threads and
     * loads the classes of the read path (about 30 ms on the benchmark machine, estimated ten
     * times that on a cold Pi Zero 2 W).
     */
    static final int FIRST_ROUND_TIMEOUT_FACTOR = 4;

    /** How long an idle reader thread lives; rounds are usually a minute apart. */
    private static final long IDLE_THREAD_SECONDS = 120;

    private final List<Group> groups;
    private final AtomicBoolean[] inFlight;
    private final Clock clock;
    private final Duration timeout;
    private final ThreadPoolExecutor pool;
    private volatile boolean warm;

    BoundedReads(String boardName, List<Group> groups, Clock clock, Duration timeout) {
        this.groups = List.copyOf(groups);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.inFlight = new AtomicBoolean[this.groups.size()];
        for (int i = 0; i < inFlight.length; i++) {
            inFlight[i] = new AtomicBoolean();
        }
        AtomicInteger threadNo = new AtomicInteger();
        // One thread per group and a queue in front of them: each group has at most one read in
        // flight (inFlight), so no read ever waits behind another group's, and a new round never
        // finds the pool "full" while the previous round's threads are still returning to it.
        int threads = Math.max(1, this.groups.size());
        this.pool = new ThreadPoolExecutor(
                threads, threads, IDLE_THREAD_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "prospector-" + boardName + "-read-" + threadNo.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.pool.allowCoreThreadTimeOut(true);
    }

    /**
     * One round: every group, bounded by the timeout. Never throws. Rounds are serialised: a
     * second caller waits for the first round (at most the timeout) instead of finding its
     * groups busy.
     */
    synchronized Snapshot measure() {
        Instant start = clock.instant();
        Duration allowed = warm ? timeout : timeout.multipliedBy(FIRST_ROUND_TIMEOUT_FACTOR);
        warm = true;
        long deadline = System.nanoTime() + allowed.toNanos();
        List<Future<Readings>> futures = new ArrayList<>(groups.size());
        for (int i = 0; i < groups.size(); i++) {
            futures.add(start(i));
        }
        List<Reading> all = new ArrayList<>(32);
        Optional<String> bootId = Optional.empty();
        for (int i = 0; i < groups.size(); i++) {
            Group g = groups.get(i);
            Future<Readings> f = futures.get(i);
            if (f == null) {
                fail(
                        all,
                        g,
                        pool.isShutdown()
                                ? "board closed"
                                : "previous read still hung (longer than " + millis(timeout) + ")");
                continue;
            }
            try {
                long wait = Math.max(0, deadline - System.nanoTime());
                Readings r = f.get(wait, TimeUnit.NANOSECONDS);
                all.addAll(r.list());
                if (r.bootId().isPresent()) {
                    bootId = r.bootId();
                }
            } catch (TimeoutException e) {
                f.cancel(true);
                Logger.warn("{} reads timed out after {}", g.name(), millis(allowed));
                fail(all, g, "timed out after " + millis(allowed));
            } catch (ExecutionException e) {
                Logger.warn(e.getCause(), "{} reads failed", g.name());
                fail(all, g, "read failed: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                f.cancel(true);
                fail(all, g, "interrupted");
            } catch (CancellationException e) {
                fail(all, g, "cancelled");
            }
        }
        return new Snapshot(start, bootId, all);
    }

    private Future<Readings> start(int i) {
        if (!inFlight[i].compareAndSet(false, true)) {
            return null;
        }
        Group g = groups.get(i);
        try {
            return pool.submit(() -> {
                try {
                    Readings out = new Readings(clock.instant());
                    g.task().read(out);
                    return out;
                } finally {
                    inFlight[i].set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight[i].set(false);
            return null;
        }
    }

    private void fail(List<Reading> all, Group g, String reason) {
        Instant now = clock.instant();
        for (String name : g.names()) {
            all.add(new Reading.Unavailable(name, reason, g.source(), now));
        }
    }

    private static String millis(Duration d) {
        return d.toMillis() + " ms";
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
