package dev.prospector.hardware;

import java.time.Duration;
import java.util.Collection;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * The emulated board's fault switches. Thread-safe: a test or the agent's config may flip a
 * fault from any thread, and the board's next {@link Board#measure()} shows it.
 */
public final class Faults {

    /** How far {@link Fault#CLOCK_JUMP} moves the wall clock when no amount is given. */
    public static final Duration DEFAULT_CLOCK_JUMP = Duration.ofHours(1);

    private final Object lock = new Object();
    // @GuardedBy("lock")
    private final EnumSet<Fault> active = EnumSet.noneOf(Fault.class);
    // @GuardedBy("lock")
    private Duration clockJump = DEFAULT_CLOCK_JUMP;

    public Faults() {}

    public Faults(Collection<Fault> initial) {
        synchronized (lock) {
            active.addAll(initial);
        }
    }

    /**
     * Parses a comma-separated list of fault keys, e.g. {@code "link-down, disk-full"}; blank
     * means none.
     *
     * @throws IllegalArgumentException naming an unknown fault and the known ones
     */
    public static Set<Fault> parse(String csv) {
        EnumSet<Fault> set = EnumSet.noneOf(Fault.class);
        for (String part : csv.split(",")) {
            if (!part.isBlank()) {
                set.add(Fault.fromKey(part));
            }
        }
        return set;
    }

    /** Switches the fault on or off. */
    public Faults set(Fault fault, boolean on) {
        Objects.requireNonNull(fault, "fault");
        synchronized (lock) {
            if (on) {
                active.add(fault);
            } else {
                active.remove(fault);
            }
        }
        return this;
    }

    public Faults on(Fault fault) {
        return set(fault, true);
    }

    public Faults off(Fault fault) {
        return set(fault, false);
    }

    /** Switches every fault off. */
    public Faults clear() {
        synchronized (lock) {
            active.clear();
        }
        return this;
    }

    /** Switches {@link Fault#CLOCK_JUMP} on with this step (may be negative). */
    public Faults jumpClock(Duration step) {
        Objects.requireNonNull(step, "step");
        synchronized (lock) {
            clockJump = step;
            active.add(Fault.CLOCK_JUMP);
        }
        return this;
    }

    public boolean isOn(Fault fault) {
        synchronized (lock) {
            return active.contains(fault);
        }
    }

    /** A copy of the faults that are on. */
    public Set<Fault> active() {
        synchronized (lock) {
            return active.isEmpty() ? EnumSet.noneOf(Fault.class) : EnumSet.copyOf(active);
        }
    }

    /** The clock step {@link Fault#CLOCK_JUMP} applies while on. */
    public Duration clockJump() {
        synchronized (lock) {
            return clockJump;
        }
    }

    @Override
    public String toString() {
        return "Faults" + active();
    }
}
