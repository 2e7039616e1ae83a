package dev.prospector.bench;

import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Times a drain of {@code total} reports as decisions come in, on any thread: when the first came,
 * when the last came, and this process's CPU time at both ({@link CpuTime}), and, given the
 * broker's process, the machine's cores at both ({@link CoreTime}). Shared by the MQTT verifier's
 * drain, the Kafka verifiers' and the transport-only one.
 */
final class DrainClock {
    private final long total;
    private final AtomicLong decided = new AtomicLong();
    private final AtomicLong first = new AtomicLong();
    private final AtomicLong end = new AtomicLong();
    private final AtomicReference<CpuTime> cpuFirst = new AtomicReference<>();
    private final AtomicReference<CpuTime> cpuEnd = new AtomicReference<>();
    private final AtomicReference<CoreTime> coresFirst = new AtomicReference<>();
    private final AtomicReference<CoreTime> coresEnd = new AtomicReference<>();
    private final OptionalLong broker;
    private final CountDownLatch done = new CountDownLatch(1);

    DrainClock(long total) {
        this(total, OptionalLong.empty());
    }

    /** @param broker the broker's process id, to account for the machine's cores; empty: not */
    DrainClock(long total, OptionalLong broker) {
        this.total = total;
        this.broker = broker;
    }

    /** Counts one decision; at the last, stops the clock. */
    void decided() {
        long nth = decided.incrementAndGet();
        if (nth == 1) {
            first.set(System.nanoTime());
            cpuFirst.set(CpuTime.now());
            if (broker.isPresent()) {
                coresFirst.set(CoreTime.now(broker));
            }
        }
        if (nth == total) {
            end.set(System.nanoTime());
            cpuEnd.set(CpuTime.now());
            if (broker.isPresent()) {
                coresEnd.set(CoreTime.now(broker));
            }
            done.countDown();
        }
    }

    /** Decisions so far. */
    long count() {
        return decided.get();
    }

    /** Waits up to {@code timeout} for the last decision; true once it came. */
    boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return done.await(timeout, unit);
    }

    /** {@link System#nanoTime} of the first decision, 0 before it. */
    long firstNanos() {
        return first.get();
    }

    /** {@link System#nanoTime} of the last decision. */
    long endNanos() {
        return end.get();
    }

    /** This process's CPU time at the first decision; null before it. */
    CpuTime cpuFirst() {
        return cpuFirst.get();
    }

    /** This process's CPU time at the last decision; null before it. */
    CpuTime cpuEnd() {
        return cpuEnd.get();
    }

    /**
     * Where the machine's cores went from the first decision to the last, per report decided
     * between them; empty before the last, without a broker process, or where it is not known.
     */
    Optional<CoreTime.Account> cores() {
        CoreTime a = coresFirst.get();
        CoreTime b = coresEnd.get();
        if (a == null || b == null) {
            return Optional.empty();
        }
        return b.since(a, total - 1);
    }
}
