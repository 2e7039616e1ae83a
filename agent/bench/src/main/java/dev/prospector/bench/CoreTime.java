package dev.prospector.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The machine's cores at one moment: how long they have been idle, how much CPU the broker has
 * used, and this process's CPU, so that a drain's core time can be accounted for whole: this
 * process (the verifier), the broker, other processes, and idle.
 *
 * <h2>Why</h2>
 * A verifier's rate on a machine it shares with its broker is the machine's cores over the core
 * time a report takes, and the verifier's own CPU is only part of that: the broker's share and the
 * cores left idle (hand-overs between threads and processes that find nothing to run) are the rest.
 * The ratio of {@code bench network} compares the rate with {@code bench crypto}'s all-core
 * appraisal rate, which is the cores over one appraisal's core time; the account says where the
 * difference goes.
 *
 * <h2>How</h2>
 * Idle from Linux's {@code /proc/stat} (the first line's idle and iowait over its total, in clock
 * ticks: a share of the window, to a tick of 10 ms over 2 cores × the drain's length); the broker's
 * CPU from {@code /proc/PID/task/TID/schedstat} (nanoseconds on CPU, summed over its threads);
 * this process's from the OS bean. Elsewhere than Linux, or without a broker process here, the
 * parts not known are not given ({@link #since} is empty).
 */
record CoreTime(long wallNanos, long idleTicks, long allTicks, int cpus, long brokerNanos, long processNanos) {
    private static final Path STAT = Path.of("/proc/stat");

    /** Now; {@code broker} the broker's process id when it runs on this machine. */
    static CoreTime now(OptionalLong broker) {
        long wall = System.nanoTime();
        long[] ticks = ticks();
        long brokerNanos = broker.isPresent() ? processNanos(broker.getAsLong()) : -1;
        return new CoreTime(
                wall, ticks[0], ticks[1], (int) ticks[2], brokerNanos, BenchTransportCommand.processCpuNanos());
    }

    /**
     * Where the cores went from {@code before} to this, in µs of core time a report over {@code
     * reports}; empty when the machine's idle time or the broker's CPU is not known.
     */
    java.util.Optional<Account> since(CoreTime before, long reports) {
        long all = allTicks - before.allTicks;
        if (all <= 0 || cpus <= 0 || brokerNanos < 0 || before.brokerNanos < 0 || reports <= 0) {
            return java.util.Optional.empty();
        }
        double coreUs = (wallNanos - before.wallNanos) / 1e3 * cpus / reports;
        double idleShare = (double) (idleTicks - before.idleTicks) / all;
        double idle = coreUs * idleShare;
        double own = (processNanos - before.processNanos) / 1e3 / reports;
        double broker = (brokerNanos - before.brokerNanos) / 1e3 / reports;
        double others = Math.max(0, coreUs - idle - own - broker);
        return java.util.Optional.of(new Account(coreUs, own, broker, others, idle));
    }

    /**
     * µs of core time a report: {@code all} the cores' (their number × the window, over the
     * reports), of which this process's, the broker's, other processes' (and the kernel's on their
     * behalf), and idle. Other processes' share is what is left, so it carries the tick's error.
     */
    record Account(double all, double process, double broker, double others, double idle) {
        /** The medians, part by part, of {@code accounts}. */
        static Account median(java.util.List<Account> accounts) {
            return new Account(
                    med(accounts, Account::all),
                    med(accounts, Account::process),
                    med(accounts, Account::broker),
                    med(accounts, Account::others),
                    med(accounts, Account::idle));
        }

        private static double med(java.util.List<Account> accounts, java.util.function.ToDoubleFunction<Account> f) {
            double[] v = accounts.stream().mapToDouble(f).sorted().toArray();
            int n = v.length;
            return n == 0 ? Double.NaN : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        }
    }

    /** {idle, all} clock ticks of every core from /proc/stat's first line and the cores it counts; zeros without it. */
    static long[] ticks() {
        try {
            return parseStat(Files.readAllLines(STAT));
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0, 0};
        }
    }

    /** {idle ticks, all ticks, cores} from the lines of /proc/stat. */
    static long[] parseStat(java.util.List<String> lines) {
        long[] t = parseTicks(lines.get(0));
        long cores = lines.stream().filter(l -> l.matches("cpu[0-9]+\\s.*")).count();
        return new long[] {t[0], t[1], cores};
    }

    /** {idle + iowait, user + nice + system + idle + iowait + irq + softirq + steal} of a "cpu" line. */
    static long[] parseTicks(String cpuLine) {
        String[] f = cpuLine.trim().split("\\s+");
        if (!f[0].equals("cpu") || f.length < 9) {
            throw new IllegalArgumentException("not /proc/stat's first line: " + cpuLine);
        }
        long all = 0;
        for (int i = 1; i <= 8; i++) {
            all += Long.parseLong(f[i]);
        }
        return new long[] {Long.parseLong(f[4]) + Long.parseLong(f[5]), all};
    }

    /** Nanoseconds on CPU of every thread of process {@code pid}; -1 when it cannot be read. */
    static long processNanos(long pid) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        long sum = 0;
        try (DirectoryStream<Path> ts = Files.newDirectoryStream(tasks)) {
            for (Path t : ts) {
                try {
                    sum += CpuTime.onCpuNanos(t);
                } catch (IOException | RuntimeException e) {
                    // A thread that ended meanwhile: its time falls into other processes' share.
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return sum;
    }
}
