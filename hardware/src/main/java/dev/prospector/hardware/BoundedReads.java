package dev.prospector.hardware;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
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
 * <p>The groups (system files, network, storage, power sensor, ...) of a round run one after
 * the other on one daemon reader thread (a board has memory for few threads: each costs its stack
 * and a share of malloc's arenas); the round waits for them until the deadline, and a group that
 * has not finished by then gives {@link Reading.Unavailable} "timed out" for each of its readings,
 * as do the groups behind it that the deadline left unstarted. A read that hangs in the kernel (a
 * dying SD card, a wedged I2C bus) cannot always be interrupted, so its thread is given up: the
 * next round runs on a new thread, and the hung group is not started again but reports "still
 * hung" at once, while the other groups are read. So a hang costs the groups behind it one round,
 * and the threads stay bounded by one plus one per hung group, however long the hangs last.
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
    private final ThreadFactory threads;
    /** The reader thread (one, made when needed); replaced when a read hangs on it. */
    private volatile ThreadPoolExecutor pool;

    private volatile boolean closed;
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
        this.threads = r -> {
            Thread t = new Thread(r, "prospector-" + boardName + "-read-" + threadNo.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = newPool();
    }

    /**
     * One reader thread with a queue: a round that finds the last one still finishing waits
     * behind it. When a read hangs, the pool is given up (its thread ends once the read returns)
     * and the next round gets a new one; each given-up thread holds a group in flight, so there
     * are at most one per group plus the one that reads.
     */
    private ThreadPoolExecutor newPool() {
        var p = new ThreadPoolExecutor(
                1, 1, IDLE_THREAD_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), threads);
        p.allowCoreThreadTimeOut(true);
        return p;
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
        List<CompletableFuture<Readings>> futures = new ArrayList<>(groups.size());
        for (int i = 0; i < groups.size(); i++) {
            // A group whose previous read is still running (hung) is not started again.
            futures.add(inFlight[i].get() ? null : new CompletableFuture<>());
        }
        Future<?> round = start(futures, deadline);
        if (round == null) {
            futures.replaceAll(f -> null);
        }
        boolean hung = false;
        List<Reading> all = new ArrayList<>(32);
        Optional<String> bootId = Optional.empty();
        for (int i = 0; i < groups.size(); i++) {
            Group g = groups.get(i);
            Future<Readings> f = futures.get(i);
            if (f == null) {
                fail(
                        all,
                        g,
                        closed ? "board closed" : "previous read still hung (longer than " + millis(timeout) + ")");
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
                round.cancel(true); // interrupts the read, if it can be; the groups behind it are not started
                if (!hung) {
                    hung = true;
                    pool.shutdown(); // its thread ends when the hung read returns, if ever
                    pool = newPool();
                    if (closed) {
                        pool.shutdownNow();
                    }
                }
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
                // Not started: the deadline had passed behind a slower group.
                fail(all, g, "timed out after " + millis(allowed));
            }
        }
        return new Snapshot(start, bootId, all);
    }

    /**
     * Starts a round on the reader thread: each group with a future, in order, until the
     * deadline. Null if no thread could take it (the board is closed).
     */
    private Future<?> start(List<CompletableFuture<Readings>> futures, long deadline) {
        try {
            return pool.submit(() -> {
                for (int i = 0; i < groups.size(); i++) {
                    CompletableFuture<Readings> f = futures.get(i);
                    if (f == null) {
                        continue;
                    }
                    if (System.nanoTime() - deadline > 0
                            || Thread.currentThread().isInterrupted()
                            || !inFlight[i].compareAndSet(false, true)) {
                        f.cancel(false);
                        continue;
                    }
                    Readings out = new Readings(clock.instant());
                    Throwable failure = null;
                    try {
                        groups.get(i).task().read(out);
                    } catch (Exception | LinkageError e) {
                        failure = e;
                    } finally {
                        // Before the round sees the result: the next round may start this group at once.
                        inFlight[i].set(false);
                    }
                    if (failure == null) {
                        f.complete(out);
                    } else {
                        f.completeExceptionally(failure);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
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
        closed = true;
        pool.shutdownNow();
    }
}
