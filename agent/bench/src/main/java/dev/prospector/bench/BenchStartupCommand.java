package dev.prospector.bench;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.Table;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench startup}: from the start of {@code prospector run} (the launcher, as
 * systemd starts it) to its first signed report at the broker. A subscriber to every report of the
 * fleet is connected first; each run starts the launcher with its default JVM options
 * ({@code PROSPECTOR_JAVA_OPTS} removed) on an emulated board and the same data dir (so the device
 * key exists, as on every start but a board's first), stops the clock when the first report
 * arrives, and stops the agent with SIGTERM. One untimed run first makes the key and fills the page
 * cache. Unless {@code --no-cds}, the launcher also makes an application class-data sharing archive
 * ({@code prospector cds-archive}) and the runs alternate without and with it, so that the
 * machine's load hits both alike.
 */
@Command(
        name = "startup",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the start-up time of `prospector run`.",
            "From starting the launcher to the first report at the broker.",
            "Runs alternate without and with an application class-data sharing archive (prospector cds-archive).",
            "Exits 1 when the median without the archive misses its target (printed with it)."
        })
public final class BenchStartupCommand implements Callable<Integer> {
    /** Process start to the first signed report at the broker, at most. */
    static final Duration TARGET = Duration.ofSeconds(3);
    /** Longest wait for one run's first report. */
    static final Duration FIRST_REPORT_LIMIT = Duration.ofSeconds(60);
    /** Largest --runs. */
    static final int MAX_RUNS = 50;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(
            names = "--runs",
            paramLabel = "N",
            defaultValue = "7",
            description = "Timed runs per configuration (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(
            names = "--no-cds",
            description = "Only the launcher as it is, without making a class-data sharing archive.")
    boolean noCds;

    @Option(names = "--broker", paramLabel = "URL", description = "Use this broker instead of starting Mosquitto.")
    String broker;

    @Option(
            names = "--mosquitto",
            paramLabel = "PATH",
            defaultValue = "/usr/sbin/mosquitto",
            description = "Mosquitto binary to start on a free loopback port (default: ${DEFAULT-VALUE}).")
    Path mosquitto;

    @Option(
            names = "--launcher",
            paramLabel = "PATH",
            description =
                    "The prospector launcher script (default: $PROSPECTOR_LAUNCHER, else `prospector` at the root of the tree this jar was built in, else /usr/bin/prospector).")
    Path launcher;

    @Override
    public Integer call() throws InterruptedException {
        if (runs < 1 || runs > MAX_RUNS) {
            throw new Failure("--runs must be 1-" + MAX_RUNS + ", not " + runs);
        }
        Path script = BenchTransportCommand.Memory.findLauncher(launcher);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String loadBefore = BenchTransportCommand.loadAverage();
        Path work = BenchTransportCommand.tempDir("prospector-bench-startup-");
        try (var b = BenchTransportCommand.LoopbackBroker.startOrUse(
                broker, mosquitto, work.resolve("mosquitto"), 100_000, 20)) {
            BlockingQueue<Long> arrivals = new LinkedBlockingQueue<>();
            MqttSettings watch = MqttSettings.of(BrokerUrl.parse(b.url()), "prospector-bench-startup-watch")
                    .withSessionExpiry(Duration.ZERO);
            try (MqttLink watcher =
                    new MqttLink(watch, Optional.empty(), (topic, payload) -> arrivals.add(System.nanoTime()))) {
                watcher.subscribe(Topics.allReports(BenchTransportCommand.FLEET), 0);
                watcher.connect();
                Path data = work.resolve("agent");
                Path archive = work.resolve("prospector-run.jsa");
                String none = "none";
                progress(err, "first start (untimed: makes the device key)");
                once(script, b.url(), data, none, arrivals, work);
                double makeSeconds = Double.NaN;
                if (!noCds) {
                    progress(err, "prospector cds-archive");
                    makeSeconds = makeArchive(script, archive, work);
                }
                List<Double> plain = new ArrayList<>();
                List<Double> cds = new ArrayList<>();
                for (int i = 0; i < runs; i++) {
                    plain.add(once(script, b.url(), data, none, arrivals, work));
                    progress(err, String.format(Locale.ROOT, "run %d without archive: %.2f s", i + 1, last(plain)));
                    if (!noCds) {
                        cds.add(once(script, b.url(), data, archive.toString(), arrivals, work));
                        progress(err, String.format(Locale.ROOT, "run %d with archive: %.2f s", i + 1, last(cds)));
                    }
                }
                long archiveBytes = noCds ? 0 : size(archive);
                return print(out, plain, cds, makeSeconds, archiveBytes, loadBefore) ? 0 : ExitCodes.CHECK_FAILED;
            }
        } finally {
            BenchTransportCommand.deleteTree(work);
        }
    }

    /** One start: seconds from starting the launcher to the first report at the broker. */
    private static double once(
            Path script, String url, Path data, String archive, BlockingQueue<Long> arrivals, Path work)
            throws InterruptedException {
        arrivals.clear();
        ProcessBuilder pb = new ProcessBuilder(
                        script.toString(),
                        "run",
                        "--board",
                        "emulated",
                        "--interval",
                        "30s",
                        "--broker",
                        url,
                        "--fleet",
                        BenchTransportCommand.FLEET,
                        "--data-dir",
                        data.toString(),
                        "--plot-size",
                        "0")
                .redirectOutput(work.resolve("run.out").toFile())
                .redirectError(work.resolve("run.err").toFile());
        launcherEnvironment(pb, archive);
        long start = System.nanoTime();
        Process child;
        try {
            child = pb.start();
        } catch (IOException e) {
            throw new Failure("cannot start " + script + ": " + e.getMessage());
        }
        try {
            long deadline = start + FIRST_REPORT_LIMIT.toNanos();
            while (true) {
                Long at = arrivals.poll(100, TimeUnit.MILLISECONDS);
                if (at != null) {
                    return (at - start) / 1e9;
                }
                if (!child.isAlive()) {
                    throw new Failure("`prospector run` exited with code " + child.exitValue() + ": "
                            + BenchTransportCommand.readQuietly(work.resolve("run.err")));
                }
                if (System.nanoTime() > deadline) {
                    throw new Failure("`prospector run` sent no report within " + FIRST_REPORT_LIMIT.toSeconds()
                            + " s: " + BenchTransportCommand.readQuietly(work.resolve("run.err")));
                }
            }
        } finally {
            child.destroy(); // SIGTERM: a clean stop, the outbox closed
            if (!child.waitFor(20, TimeUnit.SECONDS)) {
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** {@code prospector cds-archive} into {@code archive}; the seconds it took. */
    private static double makeArchive(Path script, Path archive, Path work) throws InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(script.toString(), "cds-archive")
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("cds.out").toFile());
        launcherEnvironment(pb, archive.toString());
        long start = System.nanoTime();
        try {
            Process p = pb.start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new Failure("prospector cds-archive did not finish in 5 minutes");
            }
            if (p.exitValue() != 0 || !Files.isRegularFile(archive)) {
                throw new Failure("prospector cds-archive failed (exit " + p.exitValue() + "): "
                        + BenchTransportCommand.readQuietly(work.resolve("cds.out")));
            }
        } catch (IOException e) {
            throw new Failure("cannot start " + script + ": " + e.getMessage());
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private static void launcherEnvironment(ProcessBuilder pb, String archive) {
        pb.environment().remove("PROSPECTOR_JAVA_OPTS");
        pb.environment().remove("PROSPECTOR_CONFIG");
        pb.environment().put("PROSPECTOR_CDS_ARCHIVE", archive);
    }

    private boolean print(
            PrintWriter out,
            List<Double> plain,
            List<Double> cds,
            double makeSeconds,
            long archiveBytes,
            String loadBefore) {
        double plainMedian = BenchTransportCommand.median(plain.stream().mapToDouble(Double::doubleValue));
        double cdsMedian = BenchTransportCommand.median(cds.stream().mapToDouble(Double::doubleValue));
        double target = TARGET.toMillis() / 1000.0;
        boolean met = plainMedian <= target;
        String loadAfter = BenchTransportCommand.loadAverage();
        int cores = Runtime.getRuntime().availableProcessors();
        if (json) {
            CBORObject o = CBORObject.NewOrderedMap()
                    .Add("runs", plain.size())
                    .Add("seconds_median", plainMedian)
                    .Add("seconds", array(plain))
                    .Add("target_seconds", target)
                    .Add("target_met", met);
            if (!cds.isEmpty()) {
                o.Add("cds_seconds_median", cdsMedian)
                        .Add("cds_seconds", array(cds))
                        .Add("cds_archive_bytes", archiveBytes)
                        .Add("cds_archive_make_seconds", makeSeconds);
            }
            out.println(JsonOutput.of(
                    o.Add("cores", cores).Add("load_average_before", loadBefore).Add("load_average_after", loadAfter)));
        } else {
            out.printf(
                    Locale.ROOT,
                    "prospector run (emulated board): launcher start to first report at the broker, %d run(s), %d cores%n",
                    plain.size(),
                    cores);
            var t = new Table("configuration", "median s", "runs", "target");
            t.row(
                    "launcher defaults, no archive",
                    fmt(plainMedian),
                    list(plain),
                    "<= " + fmt(target) + (met ? " met" : " NOT MET"));
            if (!cds.isEmpty()) {
                t.row(
                        "with the class-data sharing archive",
                        fmt(cdsMedian),
                        list(cds),
                        "<= " + fmt(target) + (cdsMedian <= target ? " met" : " NOT MET"));
            }
            t.print(out);
            if (!cds.isEmpty()) {
                out.printf(
                        Locale.ROOT,
                        "archive: %.1f MB, made in %.1f s; saves %.2f s (%.0f %%) of the median%n",
                        archiveBytes / (double) (1 << 20),
                        makeSeconds,
                        plainMedian - cdsMedian,
                        100 * (plainMedian - cdsMedian) / plainMedian);
            }
            out.printf(Locale.ROOT, "load average before: %s; after: %s%n", loadBefore, loadAfter);
        }
        out.flush();
        return met;
    }

    private void progress(PrintWriter err, String what) {
        if (!json) {
            err.println(what + " ...");
            err.flush();
        }
    }

    private static double last(List<Double> values) {
        return values.get(values.size() - 1);
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static CBORObject array(List<Double> values) {
        CBORObject a = CBORObject.NewArray();
        values.forEach(v -> a.Add(Math.round(v * 1000) / 1000.0));
        return a;
    }

    private static String list(List<Double> values) {
        return "["
                + String.join(
                        ", ", values.stream().map(BenchStartupCommand::fmt).toList()) + "]";
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
