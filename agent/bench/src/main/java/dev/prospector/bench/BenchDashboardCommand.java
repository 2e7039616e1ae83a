package dev.prospector.bench;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.Table;
import dev.prospector.agent.common.Failure;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench dashboard}: what the board's dashboard costs. Two agents on the emulated
 * board report to Mosquitto on loopback side by side, one with {@code --dashboard-port 0} and one
 * with the dashboard on; after a warm-up, for an idle window (nobody reads the page) it samples
 * both resident sizes and counts the CPU ticks of the dashboard's own threads (the JDK server's
 * dispatcher and timers, the handlers, the sampler) from /proc/PID/task. Then, informational, the
 * same while a "page" reads /api/status every 3 s. Targets: at most 8 MB more resident (median of
 * samples) and no measurable CPU idle (at most one clock tick over the window).
 */
@Command(
        name = "dashboard",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the dashboard's cost in resident memory and idle CPU.",
            "Two agents side by side on the emulated board, without and with the dashboard.",
            "Targets: <= 8 MB more resident, no measurable CPU while idle (exit 1 when missed)."
        })
public final class BenchDashboardCommand implements Callable<Integer> {
    static final long TARGET_EXTRA_RSS = 8L << 20;
    /** Ticks (1/100 s) the dashboard's threads may use in the idle window: below what /proc can measure. */
    static final long TARGET_IDLE_TICKS = 1;

    private static final String FLEET = "benchdash";

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(
            names = "--warmup-seconds",
            defaultValue = "60",
            description = "Seconds both agents run before measuring (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
            names = "--seconds",
            defaultValue = "120",
            description =
                    "Length of the idle window, and of the window with the page open (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(
            names = "--mosquitto",
            paramLabel = "PATH",
            defaultValue = "/usr/sbin/mosquitto",
            description = "Mosquitto binary to start on a free loopback port (default: ${DEFAULT-VALUE}).")
    Path mosquitto;

    @Option(names = "--launcher", paramLabel = "PATH", description = "The prospector launcher script.")
    Path launcher;

    /** Names (as /proc shows them, at most 15 characters) of the threads that exist for the dashboard. */
    static boolean dashboardThread(String comm) {
        return comm.startsWith("dashboard")
                || comm.startsWith("HTTP-Dispatcher")
                || comm.startsWith("server-timer")
                || comm.startsWith("idle-timeout");
    }

    @Override
    public Integer call() throws Exception {
        if (warmup < 0 || warmup > 3600 || seconds < 10 || seconds > 3600) {
            throw new Failure("--warmup-seconds 0-3600 and --seconds 10-3600, not " + warmup + " and " + seconds);
        }
        Path script = BenchTransportCommand.Memory.findLauncher(launcher);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String loadBefore = BenchTransportCommand.loadAverage();
        Path work = BenchTransportCommand.tempDir("prospector-bench-dashboard-");
        int port = freePort();
        try (BenchTransportCommand.LoopbackBroker b = BenchTransportCommand.LoopbackBroker.startOrUse(
                null, mosquitto, work.resolve("mosquitto"), 100_000, 20)) {
            Process off = start(script, b.url(), work.resolve("off"), 0);
            Process on = start(script, b.url(), work.resolve("on"), port);
            try {
                HttpClient http = HttpClient.newHttpClient();
                HttpRequest status = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/status"))
                        .timeout(Duration.ofSeconds(10))
                        .build();
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!answers(http, status)) {
                    if (!on.isAlive() || !off.isAlive() || System.nanoTime() > deadline) {
                        throw new Failure("the agents did not start: see " + work);
                    }
                    Thread.sleep(500);
                }
                err.println("both agents up (dashboard on 127.0.0.1:" + port + "); warming up " + warmup + " s");
                err.flush();
                Thread.sleep(warmup * 1000L);
                err.println("idle window: " + seconds + " s, nobody reads the dashboard");
                err.flush();
                Window idle = window(off, on, seconds, null, null);
                err.println("page open: " + seconds + " s, /api/status every 3 s");
                err.flush();
                Window open = window(off, on, seconds, http, status);
                double extra = idle.medianOn - idle.medianOff;
                boolean memoryOk = extra <= TARGET_EXTRA_RSS;
                boolean cpuOk = idle.dashboardTicks <= TARGET_IDLE_TICKS;
                String load = loadBefore + " before, " + BenchTransportCommand.loadAverage() + " after";
                if (json) {
                    CBORObject o = CBORObject.NewOrderedMap()
                            .Add("idle_rss_off_bytes", idle.medianOff)
                            .Add("idle_rss_on_bytes", idle.medianOn)
                            .Add("idle_extra_rss_bytes", extra)
                            .Add("idle_dashboard_cpu_ticks", idle.dashboardTicks)
                            .Add("idle_process_cpu_ticks_off", idle.processTicksOff)
                            .Add("idle_process_cpu_ticks_on", idle.processTicksOn)
                            .Add("open_extra_rss_bytes", open.medianOn - open.medianOff)
                            .Add("open_dashboard_cpu_ticks", open.dashboardTicks)
                            .Add("window_seconds", seconds)
                            .Add("load", load)
                            .Add("met", memoryOk && cpuOk);
                    out.println(JsonOutput.of(o));
                } else {
                    Table t = new Table("figure", "value", "target");
                    t.row("resident, without the dashboard (median, MB)", mb(idle.medianOff), "");
                    t.row("resident, with it, idle (median, MB)", mb(idle.medianOn), "");
                    t.row("extra resident, idle (MB)", mb(extra), "<= 8 " + (memoryOk ? "met" : "NOT MET"));
                    t.row(
                            "dashboard threads' CPU, idle " + seconds + " s (ticks of 10 ms)",
                            idle.dashboardTicks,
                            "<= " + TARGET_IDLE_TICKS + " " + (cpuOk ? "met" : "NOT MET"));
                    t.row(
                            "whole process CPU, idle " + seconds + " s (ticks): without / with",
                            idle.processTicksOff + " / " + idle.processTicksOn,
                            "");
                    t.row("extra resident, page open (MB)", mb(open.medianOn - open.medianOff), "");
                    t.row("dashboard threads' CPU, page open " + seconds + " s (ticks)", open.dashboardTicks, "");
                    t.row("load average", load, "");
                    t.print(out);
                }
                out.flush();
                return memoryOk && cpuOk ? 0 : 1;
            } finally {
                off.destroy();
                on.destroy();
                off.waitFor();
                on.waitFor();
            }
        } finally {
            BenchTransportCommand.deleteTree(work);
        }
    }

    /** What one window measured: median resident sizes, and CPU ticks. */
    record Window(double medianOff, double medianOn, long dashboardTicks, long processTicksOff, long processTicksOn) {}

    private static Window window(Process off, Process on, int seconds, HttpClient http, HttpRequest status)
            throws Exception {
        long dash0 = ticks(on.pid(), true);
        long p0Off = ticks(off.pid(), false);
        long p0On = ticks(on.pid(), false);
        List<Double> rssOff = new ArrayList<>();
        List<Double> rssOn = new ArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        int i = 0;
        while (System.nanoTime() < end) {
            if (http != null) {
                answers(http, status);
            }
            Thread.sleep(http != null ? 3000 : 1000);
            if (++i % (http != null ? 1 : 3) == 0) {
                rssOff.add((double) BenchTransportCommand.Memory.status(off.pid(), "VmRSS"));
                rssOn.add((double) BenchTransportCommand.Memory.status(on.pid(), "VmRSS"));
            }
        }
        return new Window(
                BenchTransportCommand.median(rssOff.stream().mapToDouble(Double::doubleValue)),
                BenchTransportCommand.median(rssOn.stream().mapToDouble(Double::doubleValue)),
                ticks(on.pid(), true) - dash0,
                ticks(off.pid(), false) - p0Off,
                ticks(on.pid(), false) - p0On);
    }

    /** CPU ticks (user + system) of a process, or of its dashboard threads only. */
    static long ticks(long pid, boolean dashboardOnly) throws IOException {
        if (!dashboardOnly) {
            return statTicks(Path.of("/proc/" + pid + "/stat"));
        }
        long sum = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                String comm =
                        BenchTransportCommand.readQuietly(t.resolve("comm")).strip();
                if (dashboardThread(comm)) {
                    sum += statTicks(t.resolve("stat"));
                }
            }
        }
        return sum;
    }

    private static long statTicks(Path stat) {
        String s = BenchTransportCommand.readQuietly(stat);
        int close = s.lastIndexOf(')');
        if (close < 0) {
            return 0;
        }
        String[] f = s.substring(close + 2).split(" ");
        // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static boolean answers(HttpClient http, HttpRequest status) {
        try {
            return http.send(status, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Process start(Path script, String broker, Path dir, int dashboardPort) throws IOException {
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(
                        script.toString(),
                        "run",
                        "--board",
                        "emulated",
                        "--interval",
                        "1s",
                        "--broker",
                        broker,
                        "--fleet",
                        FLEET,
                        "--data-dir",
                        dir.resolve("data").toString(),
                        "--plot-size",
                        "0",
                        "--dashboard-port",
                        Integer.toString(dashboardPort))
                .redirectOutput(dir.resolve("run.out").toFile())
                .redirectError(dir.resolve("run.err").toFile());
        pb.environment().remove("PROSPECTOR_JAVA_OPTS");
        pb.environment().remove("PROSPECTOR_CONFIG");
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String mb(double bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / 1e6);
    }
}
