package dev.prospector.hardware;

import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.board.PowerSensor;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A board for the demo and CI: a Raspberry Pi 4 with an SD card, Ethernet and an INA219 on the
 * supply, whose values move over time and which shows the faults switched on in {@link #faults()}.
 *
 * <p>Deterministic: values are functions of the seed and of the time elapsed on the injected
 * clock since the board was made, plus what earlier rounds saw (counters freeze while the link
 * is down; the firmware's "has occurred" flags stay set until the next boot, as on a Pi). The
 * same seed, clock readings and fault switches give the same snapshots.
 */
public final class EmulatedBoard implements Board {

    /** How long the emulated sensor hangs under {@link Fault#SLOW_SENSOR} (or until closed). */
    static final Duration SLOW_SENSOR_HANG = Duration.ofSeconds(30);

    /** The root partition of a 32 GB SD card, as statvfs reports it. */
    static final long STORAGE_TOTAL = 31_163_129_856L;
    /** A 4 GB Pi 4's MemTotal (kB 3885428). */
    static final long MEMORY_TOTAL = 3_885_428L * 1024;

    private static final String SOURCE = "emulated";
    private static final String SENSOR_SOURCE = "emulated ina219 i2c-1 0x40";

    private final Clock trueClock;
    private final Faults faults;
    private final Instant start;
    private final long seed;
    private final String bootId;
    private final double baseUptime;
    private final double rxRate;
    private final double txRate;
    private final double phase;
    private final BoundedReads reads;
    private final CountDownLatch closed = new CountDownLatch(1);

    private final Object lock = new Object();
    // @GuardedBy("lock")
    private double lastT;
    private double rxBytes;
    private double txBytes;
    private long stickyFlags;

    public EmulatedBoard(BoardConfig config) {
        this.trueClock = config.clock();
        this.faults = new Faults(config.faults());
        this.start = trueClock.instant();
        this.seed = config.seed();
        this.bootId = new UUID(
                        mix(seed, 2) & 0xFFFF_FFFF_FFFF_0FFFL | 0x4000L,
                        mix(seed, 3) & 0x3FFF_FFFF_FFFF_FFFFL | 0x8000_0000_0000_0000L)
                .toString();
        this.baseUptime = 600 + Math.floor(unit(4, 0) * 86_400);
        this.rxRate = 40_000 + unit(5, 0) * 80_000;
        this.txRate = 10_000 + unit(6, 0) * 30_000;
        this.phase = unit(7, 0) * 2 * Math.PI;
        this.rxBytes = 2e8 * unit(8, 0);
        this.txBytes = 5e7 * unit(9, 0);
        Clock shown = new FaultClock(trueClock, faults);
        this.reads = new BoundedReads(
                "emulated",
                List.of(
                        new BoundedReads.Group("system", SOURCE, SystemReader.NAMES, this::system),
                        new BoundedReads.Group("health", SOURCE, HealthReader.NAMES, this::health),
                        new BoundedReads.Group("network", SOURCE, NetworkReader.NAMES, this::network),
                        new BoundedReads.Group("storage", SOURCE, StorageReader.NAMES, this::storage),
                        new BoundedReads.Group(
                                "power", SENSOR_SOURCE, PowerReader.NAMES, new PowerReader(new Sensor())::read)),
                shown,
                config.readTimeout());
    }

    /** The fault switches; flip them from any thread, the next {@link #measure()} shows them. */
    public Faults faults() {
        return faults;
    }

    @Override
    public BoardInfo info() {
        return new BoardInfo("emulated", "Emulated Raspberry Pi 4 Model B Rev 1.5", "aarch64", false);
    }

    @Override
    public Snapshot measure() {
        return reads.measure();
    }

    @Override
    public void close() {
        closed.countDown();
        reads.close();
    }

    /** Seconds since the board was made, by the true (unjumped) clock. */
    private double elapsed() {
        return Math.max(0, Duration.between(start, trueClock.instant()).toNanos() / 1e9);
    }

    private void system(Readings out) {
        double t = elapsed();
        out.bootId(bootId);
        out.value("uptime", baseUptime + t, "s", SOURCE);
        double step = faults.isOn(Fault.CLOCK_JUMP) ? faults.clockJump().toNanos() / 1e9 : 0;
        out.value("clock.step", step, "s", SOURCE);
        double load = 0.15 + 0.25 * (1 + Math.sin(t / 300 + phase)) + 0.05 * unit(10, t);
        out.value("load.1m", round2(load), "1", SOURCE);
        out.value("load.5m", round2(0.15 + 0.25 * (1 + Math.sin(t / 900 + phase))), "1", SOURCE);
        out.value("load.15m", round2(0.15 + 0.25 * (1 + Math.sin(t / 2700 + phase))), "1", SOURCE);
        out.value("memory.total", MEMORY_TOTAL, "B", SOURCE);
        double avail = 0.78 + 0.05 * Math.sin(t / 1200 + phase) + 0.01 * unit(11, t);
        out.value("memory.available", Math.floor(MEMORY_TOTAL * avail / 4096) * 4096, "B", SOURCE);
    }

    private void health(Readings out) {
        double t = elapsed();
        boolean hot = faults.isOn(Fault.THERMAL_THROTTLING);
        double temp = hot ? 82.5 + 1.5 * unit(12, t) : 47 + 4 * Math.sin(t / 600 + phase) + 1.5 * unit(12, t);
        // The SoC's sensor resolves to about a degree/1000; keep what a Pi prints.
        out.value("temperature", Math.round(temp * 1000) / 1000.0, "Cel", SOURCE);
        long now = 0;
        if (faults.isOn(Fault.UNDER_VOLTAGE)) {
            now |= HealthReader.UNDER_VOLTAGE | 0x4; // under-voltage makes the firmware throttle
        }
        if (hot) {
            now |= 0x2 | 0x4 | 0x8; // frequency capped, throttled, soft temperature limit
        }
        long flags;
        synchronized (lock) {
            stickyFlags |= now << 16;
            flags = stickyFlags | now;
        }
        out.value("throttle_flags", flags, "flags", SOURCE);
        out.value("under_voltage", (flags & HealthReader.UNDER_VOLTAGE) != 0 ? 1 : 0, "bool", SOURCE);
        out.value("throttled", (flags & HealthReader.THROTTLING_NOW) != 0 ? 1 : 0, "bool", SOURCE);
        out.value("under_voltage_occurred", (flags & HealthReader.UNDER_VOLTAGE_OCCURRED) != 0 ? 1 : 0, "bool", SOURCE);
        out.value("throttled_occurred", (flags & HealthReader.THROTTLING_OCCURRED) != 0 ? 1 : 0, "bool", SOURCE);
    }

    private void network(Readings out) {
        double t = elapsed();
        boolean down = faults.isOn(Fault.LINK_DOWN);
        double rx;
        double tx;
        synchronized (lock) {
            if (t > lastT) {
                if (!down) {
                    rxBytes += traffic(rxRate, t) - traffic(rxRate, lastT);
                    txBytes += traffic(txRate, t) - traffic(txRate, lastT);
                }
                lastT = t;
            }
            rx = Math.floor(rxBytes);
            tx = Math.floor(txBytes);
        }
        out.value("net.rx", rx, "B", SOURCE);
        out.value("net.tx", tx, "B", SOURCE);
        out.value("net.rx_errors", Math.floor(rx / 7e8), "count", SOURCE);
        out.value("net.tx_errors", 0, "count", SOURCE);
        out.value("net.link_up", down ? 0 : 1, "bool", SOURCE);
        if (down) {
            out.unavailable("net.link_speed", "link down", SOURCE);
        } else {
            out.value("net.link_speed", 1e9, "bit/s", SOURCE);
        }
    }

    /**
     * Bytes moved by time t at an average of {@code rate} per second, with a slow swell: the
     * integral of rate * (1 + 0.8 sin(t/120)), which never decreases.
     */
    private double traffic(double rate, double t) {
        return rate * (t + 0.8 * 120 * (Math.cos(phase) - Math.cos(t / 120 + phase)));
    }

    private void storage(Readings out) {
        double t = elapsed();
        out.value("storage.total", STORAGE_TOTAL, "B", SOURCE);
        double free = faults.isOn(Fault.DISK_FULL)
                ? 0
                : Math.floor(STORAGE_TOTAL * (0.55 + 0.02 * Math.sin(t / 1800 + phase) + 0.001 * unit(13, t)) / 4096)
                        * 4096;
        out.value("storage.free", free, "B", SOURCE);
        out.value("storage.read_only", faults.isOn(Fault.READ_ONLY_FS) ? 1 : 0, "bool", SOURCE);
        out.value("storage.kind", StorageReader.Kind.SD.code, "code", SOURCE + " (sd)");
        out.value("storage.written", Math.floor((3e8 + 4096 * t) / 512) * 512, "B", SOURCE);
        out.unavailable("storage.life_used", "sd storage reports no wear to the kernel", SOURCE);
        out.unavailable("storage.pre_eol", "sd storage reports no wear to the kernel", SOURCE);
    }

    /** The emulated INA219 on the supply. */
    private final class Sensor implements PowerSensor {
        @Override
        public PowerSample sample() throws IOException {
            if (faults.isOn(Fault.I2C_SENSOR_MISSING)) {
                throw new IOException("no answer at 0x40 on i2c-1 (sensor missing or unwired)");
            }
            if (faults.isOn(Fault.I2C_SENSOR_ERROR)) {
                throw new IOException("I2C transfer to 0x40 on i2c-1 failed: Remote I/O error");
            }
            if (faults.isOn(Fault.SLOW_SENSOR)) {
                try {
                    closed.await(SLOW_SENSOR_HANG.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("sensor read interrupted");
                }
            }
            double t = elapsed();
            double volts = faults.isOn(Fault.UNDER_VOLTAGE) ? 4.63 + 0.02 * unit(14, t) : 5.08 + 0.03 * unit(14, t);
            double amps = 0.55 + 0.25 * (1 + Math.sin(t / 300 + phase)) / 2 + 0.05 * unit(15, t);
            // INA219 resolution: 4 mV bus, 10 µV shunt over 0.1 Ω = 0.1 mA.
            return new PowerSample(Math.round(volts / 0.004) * 0.004, Math.round(amps / 0.0001) * 0.0001);
        }

        @Override
        public String source() {
            return SENSOR_SOURCE;
        }

        @Override
        public void close() {}
    }

    /** The wall clock the board shows: the true clock plus the clock-jump fault, if on. */
    private static final class FaultClock extends Clock {
        private final Clock base;
        private final Faults faults;

        FaultClock(Clock base, Faults faults) {
            this.base = base;
            this.faults = faults;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            Instant now = base.instant();
            return faults.isOn(Fault.CLOCK_JUMP) ? now.plus(faults.clockJump()) : now;
        }
    }

    /** A deterministic value in [0, 1) for (seed, stream, whole second of t). */
    private double unit(int stream, double t) {
        long x = mix(seed ^ ((long) Math.floor(t) * 0x9E37_79B9_7F4A_7C15L), stream);
        return (x >>> 11) * 0x1.0p-53;
    }

    private static long mix(long seed, int stream) {
        long z = seed + stream * 0xBF58_476D_1CE4_E5B9L + 0x9E37_79B9_7F4A_7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
