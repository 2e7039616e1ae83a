package dev.prospector.demo;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.broker.EmbeddedBroker;
import dev.prospector.agent.cli.DurationConverter;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.RunCommand;
import dev.prospector.agent.cli.SizeConverter;
import dev.prospector.agent.cli.Table;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.dashboard.DashboardServer;
import dev.prospector.agent.measure.MeasureEndpoint;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.AuditOutcome;
import dev.prospector.agent.verifier.ProofOfService;
import dev.prospector.agent.verifier.Reputation;
import dev.prospector.agent.verifier.Scoring;
import dev.prospector.agent.verifier.ServiceSettings;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Plot;
import dev.prospector.hardware.BoardSelection;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Run broker, verifier and emulated boards together in this process.",
            "An embedded MQTT broker on a free loopback port, a verifier with a bandwidth measurement endpoint on"
                    + " another, and N emulated boards reporting to it. Each board plots a small plot that the"
                    + " verifier audits, and runs the bandwidth tests the verifier asks for.",
            "Prints per board the reports and their proofs of service (uptime, storage proven, bandwidth, audit"
                    + " reputation, score) and exits 0 only when every report made was delivered (confirmed by the"
                    + " verifier's signed receipt) and accepted once, and every board was credited uptime, proved"
                    + " its plot, has a bandwidth figure and an audit reputation of at least 0.80. After"
                    + " --duration the boards go on reporting, at most 30s more, until each has passed an audit"
                    + " and had two bandwidth tests."
        })
public final class DemoCommand implements Callable<Integer> {
    /** How long to wait, after the last report, for the outboxes to drain and the verifier to catch up. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(20);
    /** Longest the boards go on reporting after --duration while a board still waits for an audit or a test. */
    static final Duration PROOF_WAIT = Duration.ofSeconds(30);
    /** All boards' plots together: plotting costs about 0.1 s of CPU per MiB, and must end in the first seconds. */
    static final long PLOT_BUDGET = 32L << 20;
    /** What plotting never fills of the temp folder's disk. */
    private static final long PLOT_RESERVE = 16L << 20;
    /** A board answers an audit at once; this leaves room for a loaded machine. */
    static final Duration AUDIT_DEADLINE = Duration.ofSeconds(5);
    /** Tests the demo's measurement endpoint runs at once, and per board a minute (the protocol's are 8 and 6). */
    private static final int ENDPOINT_SESSIONS = 16;

    private static final int ENDPOINT_TESTS_PER_MINUTE = 60;

    private static final String FLEET = "demo";

    @Spec
    CommandSpec spec;

    @Option(names = "--devices", defaultValue = "3", description = "Emulated boards (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--duration",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description = "How long the boards report (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(
            names = "--interval",
            defaultValue = "1s",
            converter = DurationConverter.class,
            description = "Time between one board's reports (default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(
            names = "--plot-size",
            defaultValue = "4M",
            converter = SizeConverter.class,
            description = "Each board's plot, which storage audits prove (default: ${DEFAULT-VALUE}; 0: no plot,"
                    + " nothing to prove). All plots together stay within 32M: with more than 8 boards each gets"
                    + " less (a power of two, at least 64K), e.g. 256K each for 100 boards.")
    long plotSize;

    @Option(
            names = "--measure-bytes",
            defaultValue = "256K",
            converter = SizeConverter.class,
            description = "Bytes each way in a bandwidth test (default: ${DEFAULT-VALUE}; 1K to 64M).")
    long measureBytes;

    @Option(
            names = "--json",
            description = "Print the summary as a JSON array of {device, made, sent, delivered, accepted, rejected,"
                    + " answered, pending, published, uptime_pct, storage_proven_bytes, down_mbps, up_mbps,"
                    + " reputation, score}.")
    boolean json;

    /**
     * One board's line of the summary: what it made, what reached the broker, what its signed
     * receipts confirmed, the verifier's counts, and the verifier's view of its proofs of service
     * in the demo's epoch (NaN: not measured).
     */
    record Row(
            String device,
            long made,
            long sent,
            long delivered,
            long accepted,
            long rejected,
            long answered,
            long pending,
            long published,
            double uptimePct,
            long storageProvenBytes,
            double downMbps,
            double upMbps,
            double reputation,
            double score,
            long auditsPassed,
            int bandwidthTests,
            PlotStore.Progress plot) {
        boolean allDelivered() {
            return made > 0 && delivered == made && accepted == made && rejected == 0 && pending == 0;
        }

        /** What this board lacks of its proofs of service (empty: nothing); {@code plots}: whether boards plot. */
        List<String> missingProofs(boolean plots) {
            List<String> missing = new ArrayList<>();
            if (!(uptimePct > 0)) {
                missing.add("no uptime credited");
            }
            if (plots && storageProvenBytes <= 0) {
                missing.add("no storage proven (" + plot + ")");
            }
            if (Double.isNaN(downMbps) && Double.isNaN(upMbps)) {
                missing.add("no bandwidth figure");
            }
            if (!(reputation >= Reputation.THRESHOLD)) {
                missing.add(String.format(
                        Locale.ROOT, "audit reputation %.3f below %.2f", reputation, Reputation.THRESHOLD));
            }
            return missing;
        }

        /** Whether this board had what the demo waits for: its plot proven, and enough tests for a bandwidth tier. */
        boolean proved(boolean plots) {
            return (!plots || storageProvenBytes > 0) && bandwidthTests >= Scoring.MIN_TESTS;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (devices < 1 || devices > 1000) {
            throw new Failure("--devices " + devices + " is out of range: use 1 to 1000");
        }
        DurationConverter.requireAtLeast("--duration", duration, Duration.ofSeconds(1));
        DurationConverter.requireAtLeast("--interval", interval, RunCommand.MIN_INTERVAL);
        if (plotSize != 0 && (plotSize < AgentWiring.ProofSettings.MIN_PLOT_BYTES || plotSize > (1L << 30))) {
            throw new Failure("--plot-size " + plotSize + " is out of range: use 0 (no plot) or 64K to 1G");
        }
        if (measureBytes < AgentWiring.ProofSettings.MIN_MEASURE_BYTES
                || measureBytes > AgentWiring.ProofSettings.MAX_MEASURE_BYTES) {
            throw new Failure("--measure-bytes " + measureBytes + " is out of range: use 1K to 64M");
        }
        long plotBytes = plotPerBoard(plotSize, devices);
        boolean plots = plotBytes > 0;
        Progress progress = new Progress(spec.commandLine().getErr());
        Path work = Files.createTempDirectory("prospector-demo-");
        List<AgentNode> agents = new ArrayList<>();
        Optional<DashboardServer> dashboard = Optional.empty();
        progress.say("starting the embedded MQTT broker");
        // The verifier's bandwidth measurement endpoint, in this process on loopback: the verifier
        // trusts its key, the boards test against it. Started here rather than with --measure-port so
        // that it takes a free port, and the demo's boards may test more often than the protocol's
        // limits allow a real board.
        MeasureEndpoint.Settings endpointSettings = new MeasureEndpoint.Settings(
                "127.0.0.1", 0, measureBytes, ENDPOINT_SESSIONS, ENDPOINT_TESTS_PER_MINUTE, Duration.ofMinutes(1));
        try (EmbeddedBroker broker = EmbeddedBroker.startOnFreePort();
                MeasureEndpoint endpoint = MeasureEndpoint.start(endpointSettings, DeviceKeys.generate())) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Clock clock = Clock.systemUTC();
            ServiceSettings proofs =
                    proofSettings(duration, plotBytes, endpoint.publicKey()).withEpochOrigin(clock.instant());
            // Wired as `prospector verifier` is: every receipt carries a challenge that the next report
            // answers and is signed by the verifier's key, whose public half (receipt-key/device.pub) the
            // boards trust. The demo's boards are emulated: their reports say so, and this verifier accepts them.
            VerifierWiring.Settings verifierSettings = VerifierWiring.Settings.inMemory(url, FLEET)
                    .withAllowEmulated(true)
                    .withClientId("prospector-demo-verifier")
                    .withReceiptKeyDir(work.resolve("verifier").resolve("receipt-key"))
                    .withProofs(proofs);
            try (VerifierWiring.Verifier wired = VerifierWiring.open(verifierSettings, mqtt -> mqtt, clock)) {
                VerifierService verifier = wired.service();
                Path receiptKey = wired.receiptPublicKeyFile().orElseThrow();
                verifier.connect();
                progress.say("broker on " + broker.url() + ", measurement endpoint on " + endpoint.url()
                        + "; starting " + devices + " emulated board(s), "
                        + (plots ? "each with a plot of " + bytes(plotBytes) : "without plots") + "; audits every "
                        + DurationConverter.format(proofs.auditEvery()) + ", bandwidth tests of "
                        + bytes(measureBytes) + " each way every " + DurationConverter.format(proofs.bandwidthEvery()));
                AgentWiring.ProofSettings boardProofs = new AgentWiring.ProofSettings(
                        plotBytes, PLOT_RESERVE, 0, List.of(URI.create(endpoint.url())), measureBytes);
                for (int i = 0; i < devices; i++) {
                    // Each board trusts the verifier's receipt key: a report leaves its outbox only when
                    // a receipt signed by that key names it.
                    var settings = new AgentWiring.RunSettings(
                                    url,
                                    FLEET,
                                    work.resolve("board-" + (i + 1)),
                                    BoardSelection.EMULATED,
                                    interval,
                                    AgentWiring.DEFAULT_OUTBOX_BYTES,
                                    i + 1,
                                    Set.of())
                            .withVerifierKeys(List.of(receiptKey))
                            .withProofs(boardProofs);
                    AgentNode node = AgentWiring.agent(settings, clock);
                    agents.add(node);
                    if (i == 0) {
                        // The first board's dashboard, as `prospector run` serves it (on a free port here).
                        dashboard = Optional.of(DashboardServer.startOnFreePort(node, clock));
                        progress.say("board 1 (" + node.device() + ") shows its dashboard at "
                                + dashboard.get().url() + " while the demo runs");
                    }
                    node.start();
                }
                long start = System.nanoTime();
                long end = start + duration.toNanos();
                while (System.nanoTime() < end) {
                    Thread.sleep(Math.min(250, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
                    progress.bar(System.nanoTime() - start, duration.toNanos(), totals(agents, verifier));
                }
                // Audits and tests come at moments of the verifier's choosing: on a loaded machine a
                // board may not have had its share yet. It goes on reporting (bounded) rather than the
                // check being loosened.
                long waitEnd = System.nanoTime() + PROOF_WAIT.toNanos();
                List<Row> latest = rows(agents, verifier);
                if (!allProved(latest, plots)) {
                    progress.say("waiting at most " + DurationConverter.format(PROOF_WAIT)
                            + " more for every board's audit and " + Scoring.MIN_TESTS + " bandwidth tests: "
                            + proved(latest, plots) + " of " + devices + " board(s) have them");
                }
                while (System.nanoTime() < waitEnd && !allProved(latest, plots)) {
                    Thread.sleep(250);
                    latest = rows(agents, verifier);
                    progress.bar(
                            System.nanoTime() - start,
                            duration.toNanos(),
                            proved(latest, plots) + "/" + devices + " proved  " + totals(agents, verifier));
                }
                agents.forEach(AgentNode::stopReporting);
                long drainEnd = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
                while (System.nanoTime() < drainEnd && !settled(agents, verifier)) {
                    Thread.sleep(100);
                    progress.bar(System.nanoTime() - start, duration.toNanos(), totals(agents, verifier));
                }
                progress.done(totals(agents, verifier));
                List<Row> rows = rows(agents, verifier);
                print(rows, plots, spec.commandLine().getOut());
                agents.forEach(AgentNode::close);
                boolean ok = rows.stream()
                        .allMatch(
                                r -> r.allDelivered() && r.missingProofs(plots).isEmpty());
                return ok ? 0 : ExitCodes.CHECK_FAILED;
            }
        } finally {
            dashboard.ifPresent(DashboardServer::close);
            agents.forEach(a -> {
                try {
                    a.close();
                } catch (RuntimeException e) {
                    // already closed
                }
            });
            deleteTree(work);
        }
    }

    /**
     * Each board's plot: {@code requested}, or less so that all {@code devices} plots stay within
     * {@link #PLOT_BUDGET}, at least 64 KiB; a power of two of leaves, as the board plots it.
     */
    static long plotPerBoard(long requested, int devices) {
        if (requested == 0) {
            return 0;
        }
        long each = Math.min(requested, Math.max(AgentWiring.ProofSettings.MIN_PLOT_BYTES, PLOT_BUDGET / devices));
        return Long.highestOneBit(each / Plot.DEFAULT_LEAF_SIZE) * Plot.DEFAULT_LEAF_SIZE;
    }

    /**
     * The verifier's proof-of-service settings for a run of {@code duration}: several audits and
     * bandwidth tests per board in the run, one epoch covering the whole run (its origin is set by
     * the caller to the run's start), the storage target the boards' plot, and the demo's
     * measurement endpoint trusted.
     */
    static ServiceSettings proofSettings(Duration duration, long plotBytes, byte[] endpointKey) {
        ServiceSettings d = ServiceSettings.defaults();
        long seconds = duration.toSeconds();
        Duration epoch = duration.plus(PROOF_WAIT).plus(DRAIN_TIMEOUT);
        return new ServiceSettings(
                Duration.ofSeconds(Math.max(3, seconds / 6)),
                d.auditLeaves(),
                AUDIT_DEADLINE,
                Duration.ofSeconds(Math.max(5, seconds / 4)),
                epoch.compareTo(Duration.ofMinutes(1)) < 0 ? Duration.ofMinutes(1) : epoch,
                d.uptimeMaxGap(),
                plotBytes > 0 ? plotBytes : d.storageTarget(),
                d.rewardPerEpoch(),
                List.of(endpointKey),
                0,
                d.measureBind(),
                d.measureMaxBytes());
    }

    private static boolean allProved(List<Row> rows, boolean plots) {
        return proved(rows, plots) == rows.size();
    }

    private static long proved(List<Row> rows, boolean plots) {
        return rows.stream().filter(r -> r.proved(plots)).count();
    }

    private static boolean settled(List<AgentNode> agents, VerifierService verifier) {
        var counts = verifier.counts();
        for (AgentNode a : agents) {
            NodeStats s = a.stats();
            var c = counts.get(a.device());
            if (s.pending() > 0 || c == null || c.accepted() + c.rejected() < s.made()) {
                return false;
            }
        }
        return true;
    }

    private static String totals(List<AgentNode> agents, VerifierService verifier) {
        long made = 0;
        long delivered = 0;
        long accepted = 0;
        long rejected = 0;
        int plotting = 0;
        int plotted = 0;
        double percent = 0;
        for (AgentNode a : agents) {
            NodeStats s = a.stats();
            made += s.made();
            delivered += s.delivered();
            if (s.plot().state() != PlotStore.State.OFF) {
                plotting++;
                percent += s.plot().percent();
                if (s.plot().state() == PlotStore.State.DONE) {
                    plotted++;
                }
            }
        }
        for (var c : verifier.counts().values()) {
            accepted += c.accepted();
            rejected += c.rejected();
        }
        long audits = 0;
        long tests = 0;
        for (ProofOfService.DeviceScore s : verifier.scores().values()) {
            audits += s.audits().getOrDefault(AuditOutcome.SUCCESS, 0L);
            tests += s.bandwidthSamples();
        }
        String plots = plotting == 0
                ? ""
                : plotted == plotting
                        ? "  plotted " + plotted + "/" + plotting
                        : String.format(Locale.ROOT, "  plotting %.0f%%", percent / plotting);
        return "made " + made + "  delivered " + delivered + "  accepted " + accepted + "  rejected " + rejected + plots
                + "  audits passed " + audits + "  bandwidth tests " + tests;
    }

    private static List<Row> rows(List<AgentNode> agents, VerifierService verifier) {
        var counts = verifier.counts();
        Map<String, ProofOfService.DeviceScore> scores = verifier.scores();
        List<Row> rows = new ArrayList<>();
        for (AgentNode a : agents) {
            var c = counts.get(a.device());
            var p = scores.get(a.device());
            NodeStats s = a.stats();
            rows.add(new Row(
                    a.device(),
                    s.made(),
                    s.sent(),
                    s.delivered(),
                    c == null ? 0 : c.accepted(),
                    c == null ? 0 : c.rejected(),
                    c == null ? 0 : c.answered(),
                    s.pending(),
                    s.publishes(),
                    p == null ? 0 : p.uptimePct(),
                    p == null ? 0 : p.storageProvenBytes(),
                    p == null ? Double.NaN : orNaN(p.downMbps()),
                    p == null ? Double.NaN : orNaN(p.upMbps()),
                    p == null ? Double.NaN : p.reputation(),
                    p == null ? 0 : p.score(),
                    p == null ? 0 : p.audits().getOrDefault(AuditOutcome.SUCCESS, 0L),
                    p == null ? 0 : p.bandwidthSamples(),
                    s.plot()));
        }
        return rows;
    }

    private static double orNaN(OptionalDouble d) {
        return d.isPresent() ? d.getAsDouble() : Double.NaN;
    }

    private void print(List<Row> rows, boolean plots, PrintWriter out) {
        if (json) {
            CBORObject array = CBORObject.NewArray();
            for (Row r : rows) {
                array.Add(CBORObject.NewOrderedMap()
                        .Add("device", r.device())
                        .Add("made", r.made())
                        .Add("sent", r.sent())
                        .Add("delivered", r.delivered())
                        .Add("accepted", r.accepted())
                        .Add("rejected", r.rejected())
                        .Add("answered", r.answered())
                        .Add("pending", r.pending())
                        .Add("published", r.published())
                        .Add("uptime_pct", number(r.uptimePct()))
                        .Add("storage_proven_bytes", r.storageProvenBytes())
                        .Add("down_mbps", number(r.downMbps()))
                        .Add("up_mbps", number(r.upMbps()))
                        .Add("reputation", number(r.reputation()))
                        .Add("score", number(r.score())));
            }
            out.println(JsonOutput.of(array));
        } else {
            Table t = new Table(
                    "DEVICE",
                    "MADE",
                    "DELIVERED",
                    "ACCEPTED",
                    "REJECTED",
                    "ANSWERED",
                    "UPTIME %",
                    "STORAGE PROVEN",
                    "DOWN Mbit/s",
                    "UP Mbit/s",
                    "REPUTATION",
                    "SCORE");
            rows.forEach(r -> t.row(
                    r.device(),
                    r.made(),
                    r.delivered(),
                    r.accepted(),
                    r.rejected(),
                    r.answered(),
                    fixed(r.uptimePct(), 1),
                    bytes(r.storageProvenBytes()),
                    fixed(r.downMbps(), 1),
                    fixed(r.upMbps(), 1),
                    fixed(r.reputation(), 3),
                    fixed(r.score(), 3)));
            t.print(out);
            out.println(
                    rows.stream().allMatch(Row::allDelivered)
                            ? "every report made was delivered and accepted once"
                            : "NOT every report made was delivered and accepted");
            List<String> missing = new ArrayList<>();
            for (Row r : rows) {
                List<String> m = r.missingProofs(plots);
                if (!m.isEmpty()) {
                    missing.add(r.device() + ": " + String.join(", ", m));
                }
            }
            if (missing.isEmpty()) {
                out.println("every board was credited uptime, "
                        + (plots ? "proved its plot, " : "")
                        + "has bandwidth figures and an audit reputation of at least "
                        + String.format(Locale.ROOT, "%.2f", Reputation.THRESHOLD));
            } else {
                out.println("NOT every board proved its service:");
                missing.forEach(m -> out.println("  " + m));
            }
            out.println("DELIVERED: confirmed by a receipt signed by the verifier's key; "
                    + "ANSWERED: accepted reports that answered the challenge in the board's latest receipt");
            out.println("the verifier's judgement of this run (one epoch): UPTIME: credited between consecutive"
                    + " reports; STORAGE PROVEN: the plot a passed audit proved; DOWN/UP: medians of the"
                    + " bandwidth tests its endpoint signed; REPUTATION: from the audits (below "
                    + String.format(Locale.ROOT, "%.2f", Reputation.THRESHOLD)
                    + " disqualifies); SCORE: 0 to 1, docs/REWARDS.md");
        }
        out.flush();
    }

    /** A JSON number, or null when not measured. */
    private static CBORObject number(double d) {
        return Double.isNaN(d) ? CBORObject.Null : CBORObject.FromObject(d);
    }

    private static String fixed(double d, int decimals) {
        return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", d);
    }

    /** Bytes as people read them: 0 B, 64 KiB, 4.0 MiB, 1.0 GiB. */
    static String bytes(long b) {
        if (b < (1L << 10)) {
            return b + " B";
        }
        if (b < (1L << 20)) {
            return String.format(Locale.ROOT, "%.0f KiB", b / 1024.0);
        }
        if (b < (1L << 30)) {
            return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.1f GiB", b / (double) (1L << 30));
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: it is a temp folder
        }
    }

    /** Progress on stderr: a redrawn bar on a terminal, a line every few seconds otherwise. */
    static final class Progress {
        private static final int WIDTH = 30;
        private final PrintWriter err;
        private final boolean terminal = System.console() != null;
        private long lastLine = -1;

        Progress(PrintWriter err) {
            this.err = err;
        }

        void say(String text) {
            if (terminal && lastLine >= 0) {
                err.println();
            }
            err.println(text);
            err.flush();
        }

        /** Elapsed of total; past the total (waiting for proofs, draining) the bar stays full. */
        void bar(long elapsedNanos, long totalNanos, String totals) {
            long elapsed = elapsedNanos / 1_000_000_000L;
            long total = totalNanos / 1_000_000_000L;
            if (terminal) {
                lastLine = elapsed;
                int filled = (int) Math.min(WIDTH, WIDTH * elapsedNanos / Math.max(1, totalNanos));
                err.print("\r[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + elapsed + "/" + total
                        + " s  " + totals + "   ");
                err.flush();
            } else if (elapsed / 5 != lastLine) {
                lastLine = elapsed / 5;
                err.println(elapsed + "/" + total + " s  " + totals);
                err.flush();
            }
        }

        void done(String totals) {
            if (terminal) {
                err.println();
            }
            err.println("done: " + totals);
            err.flush();
        }
    }
}
