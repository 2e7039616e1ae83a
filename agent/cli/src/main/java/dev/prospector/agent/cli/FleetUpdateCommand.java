package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.console.FleetConsole;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.OperatorKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code prospector fleet update}: a staged rollout of a new version ({@link StagedRollout}), one
 * signed {@code update} command per board, at most {@code --rate} boards a period, stopped when
 * the failure rate passes {@code --abort-after}. The artifact's SHA-256 and size are computed here
 * from {@code --artifact} and signed into each command; the boards fetch it from {@code --url}.
 */
@Command(
        name = "update",
        mixinStandardHelpOptions = true,
        description = {
            "Roll a new version out to the boards in stages.",
            "As AWS IoT Jobs does: at most --rate boards a period, each sent a signed update command (its SHA-256"
                    + " from --artifact) and awaited until it runs the new version healthy or has rolled back; stops"
                    + " when more than --abort-after of the finished boards failed.",
            "The artifact is a tar.gz of prospector.jar and lib/*.jar (docs/OPERATIONS.md), served at --url.",
            "A table of each board's status (or --json); exit code 0 only if every target succeeded, 1 otherwise."
        })
final class FleetUpdateCommand implements java.util.concurrent.Callable<Integer> {
    /** Boards updated at once at most (each waits for its final result on a thread). */
    static final int MAX_CONCURRENT = 64;

    @Spec
    CommandSpec spec;

    @Mixin
    FleetConsoleCommand.Connection connection;

    static final class Target {
        @Option(names = "--group", paramLabel = "GROUP", description = "Every online device of a group.")
        String group;

        @Option(names = "--all", description = "Every online device of the fleet.")
        boolean all;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target;

    @Parameters(arity = "0..1", paramLabel = "DEVICE", description = "One device (instead of --group or --all).")
    String device;

    @Option(names = "--artifact", required = true, paramLabel = "FILE", description = "The release (tar.gz).")
    Path artifact;

    @Option(names = "--version", required = true, paramLabel = "V", description = "The release's version name.")
    String version;

    @Option(
            names = "--url",
            required = true,
            paramLabel = "URL",
            description = "Where the boards download it (http or https).")
    String url;

    @Option(
            names = "--signing-key",
            required = true,
            paramLabel = "FILE",
            description = "Admin operator key (operator.key or its folder).")
    Path signingKey;

    @Option(
            names = "--rate",
            defaultValue = "10/min",
            paramLabel = "N/UNIT",
            description = "Most boards started per period: N/s, N/min or N/h (default: ${DEFAULT-VALUE}).")
    String rate;

    @Option(
            names = "--abort-after",
            defaultValue = "5%",
            paramLabel = "PERCENT",
            description = "Stop once more than this share of the finished boards failed (default: ${DEFAULT-VALUE}).")
    String abortAfter;

    @Option(
            names = "--abort-min",
            defaultValue = "1",
            paramLabel = "N",
            description = "... and at least N boards have finished (default: ${DEFAULT-VALUE}).")
    int abortMin;

    @Option(
            names = "--timeout",
            defaultValue = "10m",
            converter = DurationConverter.class,
            description =
                    "How long one board has to answer finally: downloaded, restarted, healthy (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(
            names = "--health-timeout",
            defaultValue = "5m",
            converter = DurationConverter.class,
            description =
                    "How long a board's new version has to connect and get a report accepted before it rolls back (default: ${DEFAULT-VALUE}).")
    Duration healthTimeout;

    @Override
    public Integer call() throws InterruptedException {
        StagedRollout.Settings settings;
        try {
            settings = new StagedRollout.Settings(
                    StagedRollout.Rate.parse(rate), StagedRollout.Settings.percent(abortAfter), abortMin, timeout);
            dev.prospector.agent.update.VersionSlots.requireVersion(version);
            dev.prospector.agent.update.ArtifactFetcher.requireUrl(url);
        } catch (IllegalArgumentException e) {
            throw new Failure(e.getMessage());
        }
        if (timeout.compareTo(healthTimeout) <= 0) {
            throw new Failure("--timeout " + DurationConverter.format(timeout)
                    + " must be longer than --health-timeout " + DurationConverter.format(healthTimeout)
                    + ": a board answers only after its health check");
        }
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("version", version);
        args.put("url", url);
        args.put("sha256", sha256(artifact));
        args.put("size", size(artifact));
        args.put("kind", "jar-set");
        args.put("timeout", healthTimeout.toSeconds());
        OperatorKey key = FleetConsoleCommand.loadKey(signingKey);
        var err = spec.commandLine().getErr();
        ExecutorService waiting = Executors.newFixedThreadPool(MAX_CONCURRENT, r -> {
            Thread t = new Thread(r, "fleet-update");
            t.setDaemon(true);
            return t;
        });
        try (FleetConsole console = connection.open()) {
            List<String> targets = targets(console);
            if (targets.isEmpty()) {
                throw new Failure(
                        "no online device matches the target: see prospector fleet list", Failure.Kind.UNAVAILABLE);
            }
            if (!connection.json) {
                err.println("updating " + targets.size() + " device(s) to " + version + " at " + rate
                        + ", stopping after " + abortAfter + " failed (of at least " + abortMin + ")");
                err.flush();
            }
            StagedRollout.Report report = StagedRollout.run(
                    targets,
                    settings,
                    d -> CompletableFuture.supplyAsync(() -> updateOne(console, key, d, args), waiting),
                    (r, finished, failed, total) -> {
                        if (!connection.json) {
                            err.println("  " + finished + "/" + total + " " + r.target() + " "
                                    + r.state().label() + (r.detail().isEmpty() ? "" : ": " + r.detail()));
                            err.flush();
                        }
                    });
            print(report);
            return report.allSucceeded() ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
        } finally {
            waiting.shutdownNow();
        }
    }

    private List<String> targets(FleetConsole console) {
        String to;
        if (target != null && target.all) {
            to = FleetCommand.ALL;
        } else if (target != null && target.group != null) {
            to = FleetCommand.GROUP_PREFIX + target.group;
        } else if (device != null) {
            FleetConsoleCommand.requireDevice(device);
            to = FleetCommand.DEVICE_PREFIX + device;
        } else {
            throw new Failure("no target: give DEVICE, --group GROUP or --all");
        }
        return console.expected(to).stream().sorted().toList();
    }

    /** Sends one device its update and waits for its final answer. */
    private StagedRollout.Result updateOne(FleetConsole console, OperatorKey key, String d, Map<String, Object> args) {
        try {
            // The command must still be valid when the board takes it; the final answer comes later.
            FleetCommand cmd = console.command(
                    FleetCommand.DEVICE_PREFIX + d, "update", args, Duration.ofMinutes(5), Clock.systemUTC());
            FleetConsole.Outcome o = console.send(cmd, key, timeout, r -> {});
            CommandResult r = o.results().get(d);
            if (r == null) {
                return new StagedRollout.Result(
                        d, StagedRollout.State.TIMED_OUT, "no answer within " + timeout.toSeconds() + " s");
            }
            String detail = r.reason().isEmpty()
                    ? r.result()
                            .get("message")
                            .map(v -> v instanceof dev.prospector.attest.Cbor.Text t ? t.value() : "")
                            .orElse("")
                    : r.reason();
            return new StagedRollout.Result(
                    d,
                    switch (r.status()) {
                        case "ok" -> StagedRollout.State.SUCCEEDED;
                        case "refused" -> StagedRollout.State.REFUSED;
                        case "pending" -> StagedRollout.State.TIMED_OUT;
                        default -> StagedRollout.State.FAILED;
                    },
                    detail);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new StagedRollout.Result(d, StagedRollout.State.FAILED, "interrupted");
        } catch (RuntimeException e) {
            return new StagedRollout.Result(d, StagedRollout.State.FAILED, String.valueOf(e.getMessage()));
        }
    }

    private void print(StagedRollout.Report report) {
        PrintWriter out = spec.commandLine().getOut();
        if (connection.json) {
            CBORObject devices = CBORObject.NewArray();
            for (var r : report.results()) {
                devices.Add(CBORObject.NewOrderedMap()
                        .Add("device", r.target())
                        .Add("status", r.state().label())
                        .Add("detail", r.detail()));
            }
            out.println(JsonOutput.of(CBORObject.NewOrderedMap()
                    .Add("version", version)
                    .Add("targets", report.results().size())
                    .Add("succeeded", report.count(StagedRollout.State.SUCCEEDED))
                    .Add("aborted", report.aborted())
                    .Add("abort_reason", report.abortReason())
                    .Add("devices", devices)
                    .Add("ok", report.allSucceeded())));
        } else {
            Table t = new Table("DEVICE", "STATUS", "DETAIL");
            for (var r : report.results()) {
                t.row(r.target(), r.state().label(), r.detail().isEmpty() ? "-" : r.detail());
            }
            t.print(out);
            List<String> counts = new ArrayList<>();
            for (var s : StagedRollout.State.values()) {
                long n = report.count(s);
                if (n > 0) {
                    counts.add(n + " " + s.label());
                }
            }
            out.println("update to " + version + ": " + report.results().size() + " target(s): "
                    + String.join(", ", counts) + (report.aborted() ? "; stopped: " + report.abortReason() : ""));
        }
        out.flush();
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) {
                d.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (IOException e) {
            throw new Failure("--artifact " + file + " cannot be read: " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new Failure("--artifact " + file + " cannot be read: " + e.getMessage());
        }
    }
}
