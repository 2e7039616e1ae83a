package dev.prospector.bench;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.Table;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.ReportFactory;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.AcceptedLog;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.ReportSigner;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.Snapshot;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
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
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench transport}: what the transport moves through a real Mosquitto on loopback.
 *
 * <h2>Figures</h2>
 * <ol>
 *   <li><b>One agent's pipeline</b>: {@link AgentNode#reportNow()} in a loop (emulated board,
 *       sign, outbox append with {@code fdatasync}, QoS 1 publish) until every report is
 *       acknowledged by the broker; with the outbox's bytes written per report against the report's
 *       size (target {@link #TARGET_OUTBOX_RATIO}), and what the kernel counted as written to the
 *       storage layer ({@code /proc/self/io}, which sees the 4 KiB pages behind each sync; the
 *       same target against the report's size).</li>
 *   <li><b>Appraisals per second</b>: a backlog of pre-signed reports from many devices is queued
 *       by the broker for a verifier that is away (persistent session), then timed from its
 *       connect until every report is accepted by one {@link VerifierService}. (Two verifiers
 *       sharing a fleet are the Kafka mode's, measured by {@code bench network --kafka}; the MQTT
 *       forwarding group this figure also measured was retired, docs/NETWORK.md.)</li>
 *   <li><b>Backlog drain</b>: the same with one verifier on a larger backlog (1,000 devices), and
 *       its rate extrapolated to one hour of reports at 1/s from 1,000 devices.</li>
 * </ol>
 * Every figure runs {@code --runs} times, interleaved so that the machine's load affects all alike;
 * the median is reported. One untimed warm-up round on small sizes comes first (JIT).
 *
 * <h2>Checks</h2>
 * A drain counts each report once: the clock stops when the verifier has decided as many
 * reports as were queued, and a (device, seq) accepted twice is counted and reported. A drain that makes no progress for {@link #STALL_LIMIT} is recorded as stalled and left
 * out of the medians, so that one broken figure does not hide the others. A last, untimed run
 * counts the receipts a subscriber gets from one verifier.
 *
 * <p>Pre-signed reports are reused across runs: every run has fresh verifiers (fresh
 * {@link Appraiser}s, fresh sessions), so each report is new to them. Their appraiser uses a
 * one-day clock-skew window so that reports signed at start stay fresh however long the runs
 * take; the work per report is the same as with the default window.
 */
@Command(
        name = "transport",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the transport through Mosquitto on loopback.",
            "One agent's reports/s, one verifier's appraisals/s and the time to drain a backlog.",
            "Exits 1 when the outbox writes more than its target of bytes per report byte (printed with it)."
        })
public final class BenchTransportCommand implements Callable<Integer> {
    /** Outbox bytes written per report over the report's size that the outbox must stay within. */
    static final double TARGET_OUTBOX_RATIO = 2.0;
    /** The backlog the drain figure is extrapolated to: one hour at one report per second from 1,000 devices. */
    static final long HOUR_DEVICES = 1_000;

    static final long HOUR_REPORTS_PER_DEVICE = 3_600;
    /** Reports a backlog publisher keeps unacknowledged, below Mosquitto's default receive maximum (20). */
    static final int PUBLISHER_IN_FLIGHT = 16;
    /** Longest any one phase (connecting, publishing, draining) may take before the bench gives up. */
    static final Duration PHASE_LIMIT = Duration.ofMinutes(5);
    /** Largest --scale: the drain backlog is held in memory (about 0.7 KB per report). */
    static final int MAX_SCALE = 50;
    /** Largest --runs. */
    static final int MAX_RUNS = 15;
    /** Fleet name of every bench topic and report. */
    static final String FLEET = "bench";
    /** A drain that makes no progress for this long has stalled: the run is recorded as such and the bench goes on. */
    static final Duration STALL_LIMIT = Duration.ofSeconds(20);
    /** Session expiry of the verifiers' persistent sessions (the broker queues the backlog there). */
    static final Duration VERIFIER_SESSION = Duration.ofHours(1);
    /** Clock-skew window of the bench verifiers, see the class comment. */
    static final Duration BENCH_SKEW_WINDOW = AppraiserConfig.MAX_CLOCK_SKEW_WINDOW;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(
            names = "--broker",
            paramLabel = "URL",
            description =
                    "Use this broker instead of starting Mosquitto (it must queue at least the backlog per client: Mosquitto's max_queued_messages).")
    String broker;

    @Option(
            names = "--mosquitto",
            paramLabel = "PATH",
            defaultValue = "/usr/sbin/mosquitto",
            description = "Mosquitto binary to start on a free loopback port (default: ${DEFAULT-VALUE}).")
    Path mosquitto;

    @Option(
            names = "--broker-max-inflight",
            paramLabel = "N",
            defaultValue = "20",
            description =
                    "max_inflight_messages of the Mosquitto started here; it is also the receive maximum it announces (default: ${DEFAULT-VALUE}, Mosquitto's own default).")
    int brokerInFlight;

    @Option(
            names = "--verifier-state",
            description =
                    "Give each verifier an accepted.log, as `prospector verifier --state-dir` does: acceptances are synced (group commit) before the broker is acknowledged.")
    boolean verifierState;

    @Option(
            names = "--scale",
            paramLabel = "S",
            defaultValue = "1",
            description =
                    "Multiplies the drain backlog's reports per device (default: ${DEFAULT-VALUE}: 1,000 devices x 20 reports).")
    int scale;

    @Option(
            names = "--runs",
            paramLabel = "N",
            defaultValue = "3",
            description = "Measured runs of every figure; medians are reported (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(
            names = "--agent-reports",
            paramLabel = "N",
            defaultValue = "1000",
            description = "Reports the agent makes per run (default: ${DEFAULT-VALUE}).")
    int agentReports;

    @Option(
            names = "--devices",
            paramLabel = "N",
            defaultValue = "1000",
            description =
                    "Devices of the drain backlog; the appraisal backlog uses half of them (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--reports-per-device",
            paramLabel = "N",
            defaultValue = "20",
            description = "Reports per device in the backlogs, before --scale (default: ${DEFAULT-VALUE}).")
    int reportsPerDevice;

    @Override
    public Integer call() throws InterruptedException {
        check(
                brokerInFlight >= 0 && brokerInFlight <= 65_535,
                "--broker-max-inflight must be 0-65535, not " + brokerInFlight);
        check(scale >= 1 && scale <= MAX_SCALE, "--scale must be 1-" + MAX_SCALE + ", not " + scale);
        check(runs >= 1 && runs <= MAX_RUNS, "--runs must be 1-" + MAX_RUNS + ", not " + runs);
        check(agentReports >= 1 && agentReports <= 100_000, "--agent-reports must be 1-100000, not " + agentReports);
        check(devices >= 2 && devices <= 100_000, "--devices must be 2-100000, not " + devices);
        check(
                reportsPerDevice >= 1 && reportsPerDevice <= 10_000,
                "--reports-per-device must be 1-10000, not " + reportsPerDevice);
        long drainTotal = (long) devices * reportsPerDevice * scale;
        check(
                drainTotal <= 2_000_000,
                "the drain backlog of " + drainTotal + " reports is too large to hold in memory: lower --scale");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String loadBefore = loadAverage();
        Path work = tempDir("prospector-bench-transport-");
        try (LoopbackBroker b = LoopbackBroker.startOrUse(
                broker, mosquitto, work.resolve("mosquitto"), drainTotal + 1_000, brokerInFlight)) {
            String url = b.url();
            progress(err, "broker " + url + (b.started() ? " (Mosquitto started here)" : ""));
            progress(err, "signing " + drainTotal + " reports of " + devices + " devices");
            Backlog drainBacklog = Backlog.sign(devices, reportsPerDevice * scale, work.resolve("board"));
            Backlog appraisalBacklog = drainBacklog.first(devices / 2, reportsPerDevice);
            Backlog warmBacklog = drainBacklog.first(Math.max(1, devices / 2), Math.min(reportsPerDevice, 10));

            progress(err, "warm-up round (not counted)");
            agentRun(url, Math.min(agentReports, 200), work.resolve("agent-warm"));
            Optional<Path> state = verifierState ? Optional.of(work.resolve("verifier-state")) : Optional.empty();
            drainRun(url, warmBacklog, "warm", false, state);

            List<AgentRun> agent = new ArrayList<>();
            List<DrainRun> one = new ArrayList<>();
            List<DrainRun> drain = new ArrayList<>();
            for (int r = 1; r <= runs; r++) {
                progress(err, "run " + r + "/" + runs + ": agent, " + agentReports + " reports");
                agent.add(agentRun(url, agentReports, work.resolve("agent-" + r)));
                progress(err, "run " + r + "/" + runs + ": one verifier, " + appraisalBacklog.size() + " reports");
                one.add(drainRun(url, appraisalBacklog, "one-" + r, false, state));
                progress(err, "run " + r + "/" + runs + ": backlog drain, " + drainBacklog.size() + " reports");
                drain.add(drainRun(url, drainBacklog, "drain-" + r, false, state));
            }
            progress(
                    err,
                    "receipt check: one verifier, " + appraisalBacklog.size() + " reports, a client counting receipts");
            DrainRun receiptCheck = drainRun(url, appraisalBacklog, "receipts", true, state);
            Results results = new Results(
                    agent,
                    one,
                    drain,
                    drainBacklog,
                    appraisalBacklog,
                    loadBefore,
                    loadAverage(),
                    b.url(),
                    b.started(),
                    brokerInFlight,
                    receiptCheck,
                    verifierState);
            if (json) {
                out.println(JsonOutput.of(results.json()));
            } else {
                results.print(out);
            }
            out.flush();
            return results.outboxTargetMet() ? 0 : ExitCodes.CHECK_FAILED;
        } finally {
            deleteTree(work);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // 1. One agent's pipeline

    /** One run of the agent figure. */
    record AgentRun(
            double reportsPerSecond, double outboxBytesPerReport, double reportBytes, double diskBytesPerReport) {}

    /**
     * Makes {@code reports} reports as fast as {@link AgentNode#reportNow()} goes and waits until the
     * broker has acknowledged all of them. The node reports on its own once at start (its schedule);
     * that report is sent before the clock starts.
     */
    static AgentRun agentRun(String url, int reports, Path dataDir) throws InterruptedException {
        var settings = new AgentWiring.RunSettings(
                BrokerUrl.parse(url),
                FLEET,
                dataDir,
                BoardSelection.EMULATED,
                Duration.ofHours(1),
                1L << 30,
                1,
                Set.of());
        try (AgentNode node = AgentWiring.agent(settings, Clock.systemUTC())) {
            node.start();
            await(
                    () -> node.stats().connected()
                            && node.stats().made() >= 1
                            && node.stats().pending() == 0,
                    "the agent to connect and send its first report");
            long outboxBefore = node.outbox().bytesWritten();
            long diskBefore = processWriteBytes();
            long reportBytes = 0;
            long deadline = System.nanoTime() + PHASE_LIMIT.toNanos();
            long start = System.nanoTime();
            for (int i = 0; i < reports; i++) {
                reportBytes += node.reportNow().bytes().length;
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "the agent made only " + i + " reports in " + PHASE_LIMIT.toSeconds() + " s");
                }
            }
            await(() -> node.stats().pending() == 0, "the broker to acknowledge every report");
            long nanos = System.nanoTime() - start;
            long diskAfter = processWriteBytes();
            if (node.stats().lost() > 0) {
                throw new IllegalStateException(
                        "the agent's outbox dropped " + node.stats().lost() + " reports");
            }
            double outboxPerReport = (node.outbox().bytesWritten() - outboxBefore) / (double) reports;
            double diskPerReport = diskBefore < 0 || diskAfter < 0 ? -1 : (diskAfter - diskBefore) / (double) reports;
            return new AgentRun(
                    reports / (nanos / 1e9), outboxPerReport, reportBytes / (double) reports, diskPerReport);
        }
    }

    /** {@code write_bytes} of /proc/self/io: bytes this process caused to be sent to the storage layer; -1 if unreadable. */
    static long processWriteBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith("write_bytes:")) {
                    return Long.parseLong(
                            line.substring("write_bytes:".length()).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc/self/io not permitted: the figure is left out.
        }
        return -1;
    }

    // ---------------------------------------------------------------------------------------------
    // 2 and 3. Verifiers draining a backlog

    /** Pre-signed reports, per device in seq order. */
    record Backlog(List<String> devices, List<List<byte[]>> reports) {
        int size() {
            return reports.stream().mapToInt(List::size).sum();
        }

        int reportsPerDevice() {
            return reports.isEmpty() ? 0 : reports.get(0).size();
        }

        /** The first {@code n} devices with their first {@code perDevice} reports. */
        Backlog first(int n, int perDevice) {
            int k = Math.min(n, devices.size());
            List<List<byte[]>> r = new ArrayList<>();
            for (int d = 0; d < k; d++) {
                r.add(reports.get(d)
                        .subList(0, Math.min(perDevice, reports.get(d).size())));
            }
            return new Backlog(devices.subList(0, k), r);
        }

        /**
         * Signs {@code perDevice} reports for each of {@code n} new devices (own key, in-memory
         * chain) on all cores, with the emulated board's measurements: the size of a real report.
         */
        static Backlog sign(int n, int perDevice, Path boardDir) throws InterruptedException {
            List<Snapshot> snapshots = new ArrayList<>();
            try (Board board = AgentWiring.board(BoardSelection.EMULATED, boardDir, 1, Clock.systemUTC())) {
                for (int i = 0; i < Math.min(perDevice, 60); i++) {
                    snapshots.add(board.measure());
                }
            }
            ReportFactory factory = AgentWiring.reportFactory(FLEET, new byte[32], Clock.systemUTC());
            String[] ids = new String[n];
            @SuppressWarnings("unchecked")
            List<byte[]>[] lists = new List[n];
            int threads = Runtime.getRuntime().availableProcessors();
            var failure = new AtomicReference<RuntimeException>();
            var workers = new ArrayList<Thread>();
            for (int t = 0; t < threads; t++) {
                int first = t;
                var w = new Thread(
                        () -> {
                            try {
                                for (int d = first; d < n; d += threads) {
                                    DeviceKeys keys = DeviceKeys.generate();
                                    var signer = new ReportSigner(keys, ChainState.inMemory());
                                    var list = new ArrayList<byte[]>(perDevice);
                                    for (int i = 0; i < perDevice; i++) {
                                        list.add(signer.sign(factory.input(
                                                        snapshots.get(i % snapshots.size()), Optional.empty()))
                                                .bytes());
                                    }
                                    ids[d] = keys.deviceId().value();
                                    lists[d] = list;
                                }
                            } catch (RuntimeException e) {
                                failure.set(e);
                            }
                        },
                        "bench-sign-" + t);
                w.setDaemon(true);
                workers.add(w);
                w.start();
            }
            for (Thread w : workers) {
                w.join();
            }
            if (failure.get() != null) {
                throw failure.get();
            }
            return new Backlog(List.of(ids), List.of(lists));
        }
    }

    /**
     * One timed drain: how many reports, how long, and what the verifiers counted.
     *
     * @param cpuSeconds this process's CPU time from the verifiers' start to the last decision, the
     *     JIT compiler's taken out ({@link CpuTime})
     * @param connectSeconds from the start to the first decision (an MQTT verifier: connecting); for
     *     Kafka verifiers, to the backlog's release once their group had formed ({@link KafkaRuns#drain})
     * @param startCpuSeconds the part of {@code cpuSeconds} that starting the verifiers cost, paid once
     *     per process (NaN: not known): this process's CPU over {@code connectSeconds}
     * @param jitCpuSeconds the JIT compiler's CPU time over the same span as {@code cpuSeconds}
     * @param cpuByThread where the drain's CPU went, microseconds a report by kind of thread
     *     ({@link ThreadCpu}; empty: not taken)
     * @param cores where the machine's cores went from the first decision to the last ({@link
     *     CoreTime}; empty: not known, as for a broker not started here)
     */
    record DrainRun(
            long reports,
            double seconds,
            long accepted,
            long duplicates,
            long rejected,
            boolean stalled,
            long receipts,
            long acceptedTwice,
            double cpuSeconds,
            double connectSeconds,
            double receiptsPerSignature,
            double startCpuSeconds,
            double jitCpuSeconds,
            Map<String, Double> cpuByThread,
            Optional<CoreTime.Account> cores) {
        double perSecond() {
            return reports / seconds;
        }

        /**
         * Reports/s from the first decision to the last: the drain without the connection's
         * set-up ({@link #connectSeconds}), which in Paho 1.2.5 takes 200-300 ms of sleeping
         * (its three threads each wait for the next to start in steps of {@code Thread.sleep(100)},
         * eclipse-paho/paho.mqtt.java#945), a fixed cost per connection, not per report.
         */
        double drainingPerSecond() {
            if (Double.isNaN(connectSeconds) || seconds <= connectSeconds) {
                return perSecond();
            }
            return (reports - 1) / (seconds - connectSeconds);
        }

        /**
         * Reports/s from the backlog's release to the last decision: for Kafka runs, whose backlog
         * is held back until the verifiers' group has formed ({@link KafkaRuns#drain}).
         */
        double releasedPerSecond() {
            if (Double.isNaN(connectSeconds) || seconds <= connectSeconds) {
                return perSecond();
            }
            return reports / (seconds - connectSeconds);
        }

        /**
         * This process's CPU time (all its threads) per report decided, in microseconds, less the
         * start ({@link #startCpuMillis}, paid once per process, not per report, and reported apart):
         * what each report costs, the figure that predicts how a verifier's work scales. With the
         * start not known: over the whole run.
         */
        double cpuMicrosPerReport() {
            long decided = accepted + rejected;
            if (decided == 0) {
                return Double.NaN;
            }
            double start = Double.isNaN(startCpuSeconds) ? 0 : startCpuSeconds;
            return (cpuSeconds - start) * 1e6 / decided;
        }

        /** The start's CPU time, in milliseconds (NaN: not known). */
        double startCpuMillis() {
            return startCpuSeconds * 1e3;
        }

        /** The JIT compiler's CPU time over the run, in milliseconds. */
        double jitCpuMillis() {
            return jitCpuSeconds * 1e3;
        }

        /** The medians below take only completed runs. */
        static Stream<DrainRun> completed(List<DrainRun> runs) {
            return runs.stream().filter(r -> !r.stalled());
        }

        static String stalls(List<DrainRun> runs) {
            return String.join(
                    "; ",
                    runs.stream()
                            .filter(DrainRun::stalled)
                            .map(r -> "stalled at " + (r.accepted() + r.rejected()) + " of " + r.reports())
                            .toList());
        }
    }

    /**
     * Times one verifier draining {@code backlog}: its persistent session is created, it goes away,
     * the backlog is published (the broker queues it for it), and the clock runs from its reconnect
     * until every report has been decided once. The session is removed afterwards. (One MQTT
     * verifier serves a fleet; several verifiers are the Kafka mode's, {@link KafkaRuns}.)
     */
    static DrainRun drainRun(String url, Backlog backlog, String runId, boolean watchReceipts, Optional<Path> state)
            throws InterruptedException {
        return drainRun(url, OptionalLong.empty(), backlog, runId, watchReceipts, state);
    }

    /** As above; {@code broker} the broker's process id, to account for the machine's cores ({@link CoreTime}). */
    static DrainRun drainRun(
            String url, OptionalLong broker, Backlog backlog, String runId, boolean watchReceipts, Optional<Path> state)
            throws InterruptedException {
        String id = "prospector-bench-verifier-" + runId;
        try {
            // A session with its subscription, then away: the broker queues the backlog for it.
            try (VerifierWiring.Verifier v = verifier(url, id, Optional.empty())) {
                v.service().connect();
            }
            publish(url, backlog, "prospector-bench-publisher-" + runId);

            long total = backlog.size();
            var accepted = new LongAdder();
            var duplicates = new LongAdder();
            var rejected = new LongAdder();
            var firstRejection = new AtomicReference<String>();
            Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
            var acceptedTwice = new LongAdder();
            var clock = new DrainClock(total, broker);
            Optional<VerifierWiring.Verifier> wired = Optional.empty();
            Optional<LongAdder> receipts = watchReceipts ? Optional.of(new LongAdder()) : Optional.empty();
            Optional<MqttLink> watcher = receipts.map(count -> {
                MqttSettings mqtt = MqttSettings.of(BrokerUrl.parse(url), "prospector-bench-receipts-" + runId)
                        .withSessionExpiry(Duration.ZERO);
                MqttLink link = new MqttLink(mqtt, Optional.empty(), (topic, payload) -> count.increment());
                link.subscribe(Topics.allReceipts(FLEET), 1);
                return link;
            });
            try {
                watcher.ifPresent(MqttLink::connect);
                wired = Optional.of(verifier(url, id, state.map(dir -> dir.resolve(runId))));
                VerifierService v = wired.get().service();
                v.observe((device, outcome) -> {
                    if (outcome instanceof Appraisal.Accepted a && a.duplicate()) {
                        duplicates.increment();
                        return;
                    }
                    if (outcome instanceof Appraisal.Accepted a) {
                        accepted.increment();
                        if (!seen.add(a.device().value() + "#" + a.seq())) {
                            acceptedTwice.increment(); // the appraiser took a (device, seq) twice
                        }
                    } else {
                        rejected.increment();
                        firstRejection.compareAndSet(null, outcome.toString());
                    }
                    clock.decided();
                });
                ThreadCpu cpuStart = ThreadCpu.now();
                long start = System.nanoTime();
                v.connect();
                long deadline = start + PHASE_LIMIT.toNanos();
                long lastDecided = -1;
                long lastProgress = start;
                while (!clock.await(100, TimeUnit.MILLISECONDS)) {
                    long now = System.nanoTime();
                    if (clock.count() != lastDecided) {
                        lastDecided = clock.count();
                        lastProgress = now;
                    } else if (now - lastProgress > STALL_LIMIT.toNanos() || now > deadline) {
                        // Stalled (or too slow): recorded, not thrown, so the other figures still come out.
                        CpuTime cpuNow = CpuTime.now();
                        return new DrainRun(
                                total,
                                (lastProgress - start) / 1e9,
                                accepted.sum(),
                                duplicates.sum(),
                                rejected.sum(),
                                true,
                                receipts.map(LongAdder::sum).orElse(-1L),
                                acceptedTwice.sum(),
                                cpuNow.workSince(cpuStart.process()) / 1e9,
                                clock.firstNanos() == 0 ? Double.NaN : (clock.firstNanos() - start) / 1e9,
                                v.receiptSigning().perSignature(),
                                clock.firstNanos() == 0
                                        ? Double.NaN
                                        : clock.cpuFirst().workSince(cpuStart.process()) / 1e9,
                                cpuNow.jitSince(cpuStart.process()) / 1e9,
                                Map.of(),
                                Optional.empty());
                    }
                }
                // Right after the last decision, on this thread: the verifier's threads are still alive.
                Map<String, Double> byThread = ThreadCpu.now().perReport(cpuStart, accepted.sum() + rejected.sum());
                if (rejected.sum() > 0) {
                    throw new IllegalStateException(
                            rejected.sum() + " benchmark reports were rejected, the first: " + firstRejection.get());
                }
                if (receipts.isPresent()) {
                    // Receipts trail the appraisals: wait until they stop coming.
                    long before = -1;
                    while (receipts.get().sum() != before && receipts.get().sum() < total) {
                        before = receipts.get().sum();
                        TimeUnit.SECONDS.sleep(2);
                    }
                }
                return new DrainRun(
                        total,
                        (clock.endNanos() - start) / 1e9,
                        accepted.sum(),
                        duplicates.sum(),
                        rejected.sum(),
                        false,
                        receipts.map(LongAdder::sum).orElse(-1L),
                        acceptedTwice.sum(),
                        clock.cpuEnd().workSince(cpuStart.process()) / 1e9,
                        (clock.firstNanos() - start) / 1e9,
                        v.receiptSigning().perSignature(),
                        clock.cpuFirst().workSince(cpuStart.process()) / 1e9,
                        clock.cpuEnd().jitSince(cpuStart.process()) / 1e9,
                        byThread,
                        clock.cores());
            } finally {
                wired.ifPresent(VerifierWiring.Verifier::close);
                watcher.ifPresent(MqttLink::close);
            }
        } finally {
            removeSession(url, id);
        }
    }

    /** CPU time of this whole process (all threads), in nanoseconds; 0 where the JVM cannot tell. */
    static long processCpuNanos() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return Math.max(0, sun.getProcessCpuTime());
        }
        return 0;
    }

    /**
     * A verifier as {@code prospector verifier} builds it; with {@code stateDir}, it makes each
     * acceptance durable in an {@link AcceptedLog} there before acknowledging the report, as with
     * {@code --state-dir}.
     */
    static VerifierWiring.Verifier verifier(String url, String clientId, Optional<Path> stateDir) {
        // No cap on new devices: the backlog's devices are all new to the verifier at once.
        var settings = new VerifierWiring.Settings(
                BrokerUrl.parse(url),
                FLEET,
                stateDir,
                Optional.empty(),
                BENCH_SKEW_WINDOW,
                Optional.empty(),
                false,
                false,
                AppraiserConfig.DEFAULT_MAX_DEVICES,
                0,
                Optional.of(clientId),
                VERIFIER_SESSION);
        return VerifierWiring.open(settings, mqtt -> mqtt, java.time.Clock.systemUTC());
    }

    /** Publishes the backlog as a fleet would: round by round (seq 1 of every device, then seq 2, ...), QoS 1. */
    static void publish(String url, Backlog backlog, String clientId) throws InterruptedException {
        var window = new Semaphore(PUBLISHER_IN_FLIGHT);
        var failure = new AtomicReference<Throwable>();
        MqttSettings mqtt = MqttSettings.of(BrokerUrl.parse(url), clientId).withSessionExpiry(Duration.ZERO);
        try (MqttLink link = new MqttLink(mqtt, Optional.empty(), (topic, payload) -> {})) {
            link.connect();
            long deadline = System.nanoTime() + PHASE_LIMIT.toNanos();
            int rounds = backlog.reports().stream().mapToInt(List::size).max().orElse(0);
            String[] topics =
                    backlog.devices().stream().map(d -> Topics.report(FLEET, d)).toArray(String[]::new);
            for (int i = 0; i < rounds; i++) {
                for (int d = 0; d < topics.length; d++) {
                    List<byte[]> mine = backlog.reports().get(d);
                    if (i >= mine.size()) {
                        continue;
                    }
                    if (!window.tryAcquire(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        throw new IllegalStateException(
                                "publishing the backlog took longer than " + PHASE_LIMIT.toSeconds() + " s");
                    }
                    if (failure.get() != null) {
                        throw new IllegalStateException("publishing the backlog failed: " + failure.get());
                    }
                    link.publish(topics[d], mine.get(i), 1, false).whenComplete((ok, e) -> {
                        if (e != null) {
                            failure.compareAndSet(null, e);
                        }
                        window.release();
                    });
                }
            }
            if (!window.tryAcquire(PUBLISHER_IN_FLIGHT, PHASE_LIMIT.toSeconds(), TimeUnit.SECONDS)
                    || failure.get() != null) {
                throw new IllegalStateException("publishing the backlog failed: " + failure.get());
            }
        }
    }

    /** Ends a persistent session: connect with a clean start and no expiry, then disconnect. */
    static void removeSession(String url, String clientId) {
        MqttSettings mqtt = MqttSettings.of(BrokerUrl.parse(url), clientId).withSessionExpiry(Duration.ZERO);
        try (MqttLink link = new MqttLink(mqtt, Optional.empty(), (topic, payload) -> {})) {
            link.connect();
        } catch (RuntimeException e) {
            // The broker is gone: so is the session.
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Results

    record Results(
            List<AgentRun> agent,
            List<DrainRun> one,
            List<DrainRun> drain,
            Backlog drainBacklog,
            Backlog appraisalBacklog,
            String loadBefore,
            String loadAfter,
            String broker,
            boolean brokerStarted,
            int brokerInFlight,
            DrainRun receiptCheck,
            boolean verifierState) {

        double agentRate() {
            return median(agent.stream().mapToDouble(AgentRun::reportsPerSecond));
        }

        /** Whether the outbox wrote at most {@link #TARGET_OUTBOX_RATIO} times the report's bytes. */
        boolean outboxTargetMet() {
            return outboxPerReport() / reportBytes() <= TARGET_OUTBOX_RATIO;
        }

        double outboxPerReport() {
            return median(agent.stream().mapToDouble(AgentRun::outboxBytesPerReport));
        }

        double reportBytes() {
            return median(agent.stream().mapToDouble(AgentRun::reportBytes));
        }

        double diskPerReport() {
            return median(agent.stream().mapToDouble(AgentRun::diskBytesPerReport));
        }

        static double rate(List<DrainRun> runs) {
            return median(DrainRun.completed(runs).mapToDouble(DrainRun::perSecond));
        }

        double drainSeconds() {
            return median(DrainRun.completed(drain).mapToDouble(DrainRun::seconds));
        }

        double hourSeconds() {
            return HOUR_DEVICES * HOUR_REPORTS_PER_DEVICE / rate(drain);
        }

        CBORObject json() {
            return CBORObject.NewOrderedMap()
                    .Add("agent_reports_per_s", number(round1(agentRate())))
                    .Add("outbox_bytes_written_per_report", number(round1(outboxPerReport())))
                    .Add("report_bytes", number(round1(reportBytes())))
                    .Add("outbox_bytes_per_report_bytes", number(round3(outboxPerReport() / reportBytes())))
                    .Add("outbox_ratio_target", TARGET_OUTBOX_RATIO)
                    .Add("outbox_ratio_target_met", outboxTargetMet())
                    .Add("disk_write_bytes_per_report", number(round1(diskPerReport())))
                    .Add("disk_bytes_per_report_bytes", number(round3(diskPerReport() / reportBytes())))
                    .Add("appraisals_per_s_one_verifier", number(round1(rate(one))))
                    .Add(
                            "accepted_twice",
                            Stream.of(one, drain)
                                    .flatMap(List::stream)
                                    .mapToLong(DrainRun::acceptedTwice)
                                    .sum())
                    .Add("appraisal_backlog_reports", appraisalBacklog.size())
                    .Add("backlog_reports_measured", drainBacklog.size())
                    .Add("backlog_drain_seconds_measured", number(round3(drainSeconds())))
                    .Add("backlog_drain_reports_per_s", number(round1(rate(drain))))
                    .Add("backlog_drain_seconds_1000x3600", number(round1(hourSeconds())))
                    .Add("backlog_drain_1000x3600_is_extrapolated", true)
                    .Add("runs", agent.size())
                    .Add(
                            "stalled_runs_one_verifier",
                            one.stream().filter(DrainRun::stalled).count())
                    .Add(
                            "stalled_runs_drain",
                            drain.stream().filter(DrainRun::stalled).count())
                    .Add(
                            "stalls",
                            DrainRun.stalls(
                                    Stream.of(one, drain).flatMap(List::stream).toList()))
                    .Add("agent_reports_per_s_runs", array(agent.stream().mapToDouble(AgentRun::reportsPerSecond)))
                    .Add(
                            "appraisals_per_s_one_verifier_runs",
                            array(DrainRun.completed(one).mapToDouble(DrainRun::perSecond)))
                    .Add(
                            "backlog_drain_reports_per_s_runs",
                            array(DrainRun.completed(drain).mapToDouble(DrainRun::perSecond)))
                    .Add("receipt_check_reports", receiptCheck.reports())
                    .Add("receipt_check_receipts_delivered", receiptCheck.receipts())
                    .Add("receipt_check_stalled", receiptCheck.stalled())
                    .Add("load_average_before", loadBefore)
                    .Add("load_average_after", loadAfter)
                    .Add("cores", Runtime.getRuntime().availableProcessors())
                    .Add("broker", brokerStarted ? "mosquitto (started by the bench)" : broker)
                    .Add("broker_max_inflight_messages", brokerStarted ? brokerInFlight : -1)
                    .Add("verifier_state", verifierState)
                    .Add("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        }

        void print(PrintWriter out) {
            out.printf(
                    Locale.ROOT,
                    "Transport through %s, %d cores, %d run(s) per figure (medians; runs in brackets)%s%n",
                    brokerStarted ? "Mosquitto on loopback (max_inflight_messages " + brokerInFlight + ")" : broker,
                    Runtime.getRuntime().availableProcessors(),
                    agent.size(),
                    verifierState ? "; verifiers with an accepted.log (--verifier-state)" : "");
            double ratio = outboxPerReport() / reportBytes();
            var t = new Table("figure", "median", "runs", "target");
            t.row(
                    "agent reports/s (sign, fsync, QoS 1 PUBACK)",
                    fmt(agentRate()),
                    runs(agent.stream().mapToDouble(AgentRun::reportsPerSecond)),
                    "");
            t.row("report bytes", fmt(reportBytes()), "", "");
            t.row("outbox bytes written per report", fmt(outboxPerReport()), "", "");
            t.row(
                    "outbox bytes / report bytes",
                    String.format(Locale.ROOT, "%.2f", ratio),
                    "",
                    "<= " + TARGET_OUTBOX_RATIO + (ratio <= TARGET_OUTBOX_RATIO ? " met" : " NOT MET"));
            t.row(
                    "disk bytes written per report (/proc/self/io)",
                    diskPerReport() < 0 ? "n/a" : fmt(diskPerReport()),
                    diskPerReport() < 0 ? "" : runs(agent.stream().mapToDouble(AgentRun::diskBytesPerReport)),
                    "");
            if (diskPerReport() >= 0) {
                double disk = diskPerReport() / reportBytes();
                t.row(
                        "disk bytes / report bytes",
                        String.format(Locale.ROOT, "%.2f", disk),
                        "",
                        "<= " + TARGET_OUTBOX_RATIO + (disk <= TARGET_OUTBOX_RATIO ? " met" : " NOT MET"));
            }
            drainRow(
                    t,
                    "appraisals/s, one verifier (" + appraisalBacklog.size() + " queued)",
                    one,
                    DrainRun::perSecond,
                    rate(one));
            drainRow(
                    t,
                    "backlog drain reports/s (" + drainBacklog.devices().size() + " x "
                            + drainBacklog.reportsPerDevice() + ")",
                    drain,
                    DrainRun::perSecond,
                    rate(drain));
            drainRow(
                    t,
                    "backlog drain s, measured (" + drainBacklog.size() + " reports)",
                    drain,
                    DrainRun::seconds,
                    drainSeconds());
            t.row("backlog drain s, 1,000 x 3,600 EXTRAPOLATED", fmt(hourSeconds()), "", "");
            t.print(out);
            out.printf(
                    Locale.ROOT,
                    "receipt check: one verifier appraised %d reports%s; %d receipts reached a subscriber (%d missing)%n",
                    receiptCheck.accepted() + receiptCheck.rejected(),
                    receiptCheck.stalled() ? " (STALLED)" : "",
                    receiptCheck.receipts(),
                    receiptCheck.reports() - receiptCheck.receipts());
            long twice = Stream.of(one, drain)
                    .flatMap(List::stream)
                    .mapToLong(DrainRun::acceptedTwice)
                    .sum();
            out.println(
                    twice == 0
                            ? "every report was accepted exactly once (device and seq) in every run"
                            : "ACCEPTED TWICE: " + twice + " reports were accepted twice");
            String stalls =
                    DrainRun.stalls(Stream.of(one, drain).flatMap(List::stream).toList());
            if (!stalls.isEmpty()) {
                out.println("STALLED (no progress for " + STALL_LIMIT.toSeconds() + " s; left out of the medians): "
                        + stalls);
            }
            out.printf(Locale.ROOT, "load average before: %s; after: %s%n", loadBefore, loadAfter);
        }

        private static void drainRow(
                Table t,
                String name,
                List<DrainRun> runs,
                java.util.function.ToDoubleFunction<DrainRun> f,
                double median) {
            String each = "["
                    + String.join(
                            ", ",
                            runs.stream()
                                    .map(r -> r.stalled() ? "stalled" : fmt(f.applyAsDouble(r)))
                                    .toList())
                    + "]";
            t.row(name, Double.isNaN(median) ? "n/a" : fmt(median), each, "");
        }
    }

    /** A JSON number, or null where no run produced the figure. */
    private static CBORObject number(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? CBORObject.Null : CBORObject.FromObject(v);
    }

    // ---------------------------------------------------------------------------------------------
    // A broker on loopback

    /** Mosquitto started here on a free loopback port, or a broker given by URL. */
    static final class LoopbackBroker implements AutoCloseable {
        /** Longest wait for a started Mosquitto to listen. */
        private static final Duration START_LIMIT = Duration.ofSeconds(20);

        private final String url;
        private Process process;
        /** How it was started (to start it again on the same port after an outage); null for a given broker. */
        private final ProcessBuilder start;

        private final int port;

        /** The broker's process id when it was started here and runs; empty for a given broker. */
        OptionalLong pid() {
            Process p = process;
            return p != null && p.isAlive() ? OptionalLong.of(p.pid()) : OptionalLong.empty();
        }

        private LoopbackBroker(String url, Process process, ProcessBuilder start, int port) {
            this.url = url;
            this.process = process;
            this.start = start;
            this.port = port;
        }

        /**
         * Uses {@code broker} if given; otherwise starts {@code binary} with in-memory state that
         * queues up to {@code queue} messages per client.
         */
        static LoopbackBroker startOrUse(String broker, Path binary, Path dir, long queue, int inFlight) {
            return startOrUse(broker, binary, dir, queue, inFlight, false);
        }

        /** As above; {@code tcpNoDelay} sets Mosquitto's {@code set_tcp_nodelay} (off by default). */
        static LoopbackBroker startOrUse(
                String broker, Path binary, Path dir, long queue, int inFlight, boolean tcpNoDelay) {
            if (broker != null) {
                BrokerUrl.parse(broker); // one clear line if it is not a broker URL
                return new LoopbackBroker(broker, null, null, -1);
            }
            if (!Files.isExecutable(binary)) {
                throw new Failure("mosquitto not found at " + binary
                        + ": install it (apt-get install mosquitto), pass --mosquitto PATH, "
                        + "or use a running broker with --broker URL");
            }
            int port = freePort();
            try {
                Files.createDirectories(dir);
                Path conf = dir.resolve("mosquitto.conf");
                Files.writeString(
                        conf,
                        String.join(
                                "\n",
                                "listener " + port + " 127.0.0.1",
                                "allow_anonymous true",
                                "persistence false",
                                "max_queued_messages " + queue,
                                "max_inflight_messages " + inFlight,
                                // See docs/NETWORK.md: without it a receipt written right after a PUBACK to
                                // the same board waits out the board's delayed ACK (Nagle's algorithm).
                                "set_tcp_nodelay " + tcpNoDelay,
                                "log_dest file " + dir.toAbsolutePath().resolve("mosquitto.log"),
                                // Started as root, mosquitto drops to user "mosquitto"; stay as the user running the
                                // bench.
                                "user " + System.getProperty("user.name"),
                                ""));
                ProcessBuilder pb = new ProcessBuilder(binary.toString(), "-c", conf.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(
                                dir.resolve("mosquitto.out").toFile()));
                var b = new LoopbackBroker("tcp://127.0.0.1:" + port, pb.start(), pb, port);
                b.awaitListening(port, dir.resolve("mosquitto.out"));
                return b;
            } catch (IOException e) {
                throw new Failure("cannot start " + binary + ": " + e.getMessage());
            }
        }

        private void awaitListening(int port, Path output) {
            long deadline = System.nanoTime() + START_LIMIT.toNanos();
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    close();
                    throw new Failure("mosquitto exited at start: "
                            + readQuietly(output).strip().replace('\n', ' '));
                }
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    return;
                } catch (IOException e) {
                    sleep(50);
                }
            }
            close();
            throw new Failure(
                    "mosquitto did not listen on 127.0.0.1:" + port + " within " + START_LIMIT.toSeconds() + " s");
        }

        String url() {
            return url;
        }

        boolean started() {
            return start != null;
        }

        /** Stops the broker started here (an outage); {@link #startAgain} brings it back on the same port. */
        void stopForOutage() {
            close();
        }

        /** Starts the broker again on its port, after {@link #stopForOutage}. */
        void startAgain() {
            try {
                process = start.start();
            } catch (IOException e) {
                throw new Failure("cannot start mosquitto again: " + e.getMessage());
            }
            awaitListening(port, start.redirectOutput().file().toPath());
        }

        @Override
        public void close() {
            if (process == null || !process.isAlive()) {
                return;
            }
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // 4. Resident memory of `prospector run`

    /**
     * {@code prospector bench memory}: resident memory of {@code prospector run} on the emulated
     * board, started through the launcher with its default JVM options ({@code PROSPECTOR_JAVA_OPTS}
     * is removed from its environment), sampled from {@code /proc/PID/status} while it reports every
     * second to a broker on loopback.
     */
    @Command(
            name = "memory",
            mixinStandardHelpOptions = true,
            description = {
                "Measure the resident memory of `prospector run`.",
                "An emulated board reporting every second, started through the launcher with its default JVM options.",
                "Exits 1 when the resident memory goes above its target (printed with it)."
            })
    public static final class Memory implements Callable<Integer> {
        /** Resident memory the agent must stay within. */
        static final long TARGET_RSS_BYTES = 64L << 20;
        /** Longest --minutes. */
        static final double MAX_MINUTES = 24 * 60;
        /** Longest wait for the agent's first report to reach the broker. */
        static final Duration FIRST_REPORT_LIMIT = Duration.ofSeconds(60);

        @Spec
        CommandSpec spec;

        @Option(names = "--json", description = "Print one JSON object instead of a table.")
        boolean json;

        @Option(names = "--broker", paramLabel = "URL", description = "Use this broker instead of starting Mosquitto.")
        String broker;

        @Option(
                names = "--mosquitto",
                paramLabel = "PATH",
                defaultValue = "/usr/sbin/mosquitto",
                description = "Mosquitto binary to start on a free loopback port (default: ${DEFAULT-VALUE}).")
        Path mosquitto;

        @Option(
                names = "--minutes",
                paramLabel = "M",
                defaultValue = "5",
                description = "How long the agent runs (default: ${DEFAULT-VALUE}).")
        double minutes;

        @Option(
                names = "--sample-seconds",
                paramLabel = "S",
                defaultValue = "10",
                description = "Seconds between samples of VmRSS (default: ${DEFAULT-VALUE}).")
        double sampleSeconds;

        @Option(
                names = "--launcher",
                paramLabel = "PATH",
                description =
                        "The prospector launcher script (default: $PROSPECTOR_LAUNCHER, else `prospector` at the root of the tree this jar was built in, else /usr/bin/prospector).")
        Path launcher;

        @Option(
                names = "--plot-size",
                paramLabel = "SIZE",
                defaultValue = "0",
                description = "The agent's --plot-size, e.g. 64M; 0: no plot (default: ${DEFAULT-VALUE}).")
        String plotSize;

        @Option(
                names = "--interval",
                paramLabel = "DURATION",
                defaultValue = "1s",
                converter = dev.prospector.agent.cli.DurationConverter.class,
                description =
                        "The agent's --interval (default: ${DEFAULT-VALUE}); shorter fills the outbox faster in an"
                                + " outage run.")
        Duration interval;

        @Option(
                names = "--outage-minutes",
                paramLabel = "M",
                defaultValue = "0",
                description =
                        "Stop the broker for this long, --outage-after minutes after the start, then start it"
                                + " again on the same port: reports pile up in the agent's outbox meanwhile (default: no outage).")
        double outageMinutes;

        @Option(
                names = "--outage-after",
                paramLabel = "M",
                defaultValue = "1",
                description = "Minutes from the start to the outage (default: ${DEFAULT-VALUE}).")
        double outageAfter;

        @Option(
                names = "--nmt",
                description = "Also track the JVM's native memory (-XX:NativeMemoryTracking=summary, which costs some"
                        + " memory itself) and print its summary at the end.")
        boolean nmt;

        /** Reports the agent dropped because its outbox was full (counted in its log). */
        private long dropped;

        /**
         * One sample: seconds since start, resident bytes, reports the broker has passed on so far,
         * and whether the broker was away.
         */
        record Sample(double seconds, long rssBytes, long reports, boolean outage) {}

        @Override
        public Integer call() throws InterruptedException {
            check(
                    minutes > 0 && minutes <= MAX_MINUTES,
                    "--minutes must be above 0 and at most " + (int) MAX_MINUTES + ", not " + minutes);
            check(
                    sampleSeconds >= 0.1 && sampleSeconds <= 3600,
                    "--sample-seconds must be 0.1-3600, not " + sampleSeconds);
            check(
                    outageMinutes >= 0
                            && outageAfter > 0
                            && (outageMinutes == 0 || outageAfter + outageMinutes < minutes),
                    "--outage-after plus --outage-minutes must end before --minutes (" + minutes + ")");
            check(
                    broker == null || outageMinutes == 0,
                    "--outage-minutes needs the broker the bench starts, not --broker");
            check(
                    !interval.isNegative() && interval.toMillis() >= 10,
                    "--interval must be at least 10ms, not " + interval);
            Path script = findLauncher(launcher);
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            String loadBefore = loadAverage();
            Path work = tempDir("prospector-bench-memory-");
            try (LoopbackBroker b =
                    LoopbackBroker.startOrUse(broker, mosquitto, work.resolve("mosquitto"), 100_000, 20)) {
                var received = new LongAdder();
                MqttSettings watch = MqttSettings.of(BrokerUrl.parse(b.url()), "prospector-bench-memory-watch")
                        .withSessionExpiry(Duration.ZERO);
                try (MqttLink watcher =
                        new MqttLink(watch, Optional.empty(), (topic, payload) -> received.increment())) {
                    watcher.subscribe(Topics.allReports(FLEET), 0);
                    watcher.connect();
                    List<String> command = List.of(
                            script.toString(),
                            "run",
                            "--board",
                            "emulated",
                            "--interval",
                            interval.toMillis() + "ms",
                            "--broker",
                            b.url(),
                            "--fleet",
                            FLEET,
                            "--data-dir",
                            work.resolve("agent").toString(),
                            "--plot-size",
                            plotSize,
                            // A port of its own: agents measured side by side each serve their
                            // dashboard (on 8470, only the first would, and the others run lighter).
                            "--dashboard-port",
                            Integer.toString(freePort()));
                    ProcessBuilder pb = new ProcessBuilder(command)
                            .redirectOutput(work.resolve("run.out").toFile())
                            .redirectError(work.resolve("run.err").toFile());
                    pb.environment().remove("PROSPECTOR_JAVA_OPTS");
                    pb.environment().remove("PROSPECTOR_CONFIG");
                    if (nmt) {
                        // Added to the launcher's own options, which PROSPECTOR_JAVA_OPTS would replace.
                        pb.environment().put("JAVA_TOOL_OPTIONS", "-XX:NativeMemoryTracking=summary");
                    }
                    Process child;
                    try {
                        child = pb.start();
                    } catch (IOException e) {
                        throw new Failure("cannot start " + script + ": " + e.getMessage());
                    }
                    try {
                        progress(err, json, "started " + String.join(" ", command) + " (pid " + child.pid() + ")");
                        long start = System.nanoTime();
                        long firstDeadline = start + FIRST_REPORT_LIMIT.toNanos();
                        while (received.sum() == 0) {
                            requireAlive(child, work);
                            if (System.nanoTime() > firstDeadline) {
                                throw new Failure("`prospector run` sent no report within "
                                        + FIRST_REPORT_LIMIT.toSeconds() + " s: " + tail(work.resolve("run.err")));
                            }
                            sleep(100);
                        }
                        String jvm = readQuietly(Path.of("/proc/" + child.pid() + "/cmdline"))
                                .replace('\0', ' ')
                                .strip();
                        List<Sample> samples = new ArrayList<>();
                        long end = start + (long) (minutes * 60e9);
                        long step = (long) (sampleSeconds * 1e9);
                        long outageStart = outageMinutes > 0 ? start + (long) (outageAfter * 60e9) : Long.MAX_VALUE;
                        long outageEnd = outageStart + (long) (outageMinutes * 60e9);
                        boolean away = false;
                        for (long next = start + step; ; next += step) {
                            long now = System.nanoTime();
                            if (next > end) {
                                next = end;
                            }
                            if (!away && outageStart < next && outageEnd > now) {
                                next = Math.max(now, outageStart); // the outage starts before the next sample
                            } else if (away && outageEnd < next) {
                                next = Math.max(now, outageEnd);
                            }
                            if (next > now) {
                                TimeUnit.NANOSECONDS.sleep(next - now);
                            }
                            requireAlive(child, work);
                            long at = System.nanoTime();
                            if (!away && at >= outageStart && at < outageEnd) {
                                b.stopForOutage();
                                away = true;
                                progress(err, json, "broker stopped for " + outageMinutes + " min (outage)");
                            } else if (away && at >= outageEnd) {
                                b.startAgain();
                                away = false;
                                progress(err, json, "broker started again");
                            }
                            var s = new Sample((at - start) / 1e9, status(child.pid(), "VmRSS"), received.sum(), away);
                            samples.add(s);
                            progress(
                                    err,
                                    json,
                                    String.format(
                                            Locale.ROOT,
                                            "%6.0f s  VmRSS %6.1f MB  reports %d%s",
                                            s.seconds(),
                                            mb(s.rssBytes()),
                                            s.reports(),
                                            away
                                                    ? "  (broker away; outbox " + outboxBytes(work) + " bytes on disk)"
                                                    : ""));
                            if (next >= end) {
                                break;
                            }
                        }
                        long peak = status(child.pid(), "VmHWM");
                        dropped = readQuietly(work.resolve("run.err"))
                                .lines()
                                .filter(l -> l.contains("outbox full ("))
                                .count();
                        boolean met = print(out, samples, peak, jvm, loadBefore, loadAverage());
                        if (!json) {
                            // After the last sample: jcmd's attach adds a thread and some classes.
                            printInside(out, child.pid());
                        }
                        return met ? 0 : ExitCodes.CHECK_FAILED;
                    } finally {
                        stop(child);
                    }
                }
            } finally {
                deleteTree(work);
            }
        }

        /** Prints the figures; whether the resident memory stayed within its target. */
        private boolean print(
                PrintWriter out, List<Sample> samples, long peak, String jvm, String loadBefore, String loadAfter) {
            Sample last = samples.get(samples.size() - 1);
            long max = samples.stream().mapToLong(Sample::rssBytes).max().orElse(0);
            boolean met = max <= TARGET_RSS_BYTES;
            // The outage's figures: the last sample while the broker was away, and the highest after it.
            Optional<Sample> outageEnd = samples.stream().filter(Sample::outage).reduce((a, b) -> b);
            long outageMax = samples.stream()
                    .filter(Sample::outage)
                    .mapToLong(Sample::rssBytes)
                    .max()
                    .orElse(0);
            long afterMax = outageEnd.isEmpty()
                    ? 0
                    : samples.stream()
                            .filter(x -> x.seconds() > outageEnd.get().seconds())
                            .mapToLong(Sample::rssBytes)
                            .max()
                            .orElse(0);
            if (json) {
                CBORObject series = CBORObject.NewArray();
                samples.forEach(s -> series.Add(
                        CBORObject.NewArray().Add(Math.round(s.seconds())).Add(s.rssBytes())));
                out.println(JsonOutput.of(CBORObject.NewOrderedMap()
                        .Add("rss_last_bytes", last.rssBytes())
                        .Add("rss_max_bytes", max)
                        .Add("rss_peak_vmhwm_bytes", peak)
                        .Add("rss_target_bytes", TARGET_RSS_BYTES)
                        .Add("rss_target_met", met)
                        .Add("seconds", Math.round(last.seconds()))
                        .Add("interval_ms", interval.toMillis())
                        .Add("outage_minutes", outageMinutes)
                        .Add(
                                "rss_outage_end_bytes",
                                outageEnd.map(Sample::rssBytes).orElse(0L))
                        .Add("rss_outage_max_bytes", outageMax)
                        .Add("rss_after_outage_max_bytes", afterMax)
                        .Add(
                                "reports_before_outage_end",
                                outageEnd.map(Sample::reports).orElse(0L))
                        .Add("reports_dropped_outbox_full", dropped)
                        .Add("reports_received", last.reports())
                        .Add("samples", series)
                        .Add("command", jvm)
                        .Add("load_average_before", loadBefore)
                        .Add("load_average_after", loadAfter)));
            } else {
                out.printf(
                        Locale.ROOT,
                        "prospector run (emulated board, --interval %s, --plot-size %s) for %.0f s%s: %s%n",
                        interval.toMillis() + "ms",
                        plotSize,
                        last.seconds(),
                        outageMinutes > 0
                                ? String.format(
                                        Locale.ROOT,
                                        ", broker away from %.1f to %.1f min",
                                        outageAfter,
                                        outageAfter + outageMinutes)
                                : "",
                        jvm);
                var t = new Table("figure", "value", "target");
                t.row("VmRSS, last sample (MB)", String.format(Locale.ROOT, "%.1f", mb(last.rssBytes())), "");
                t.row(
                        "VmRSS, max of samples (MB)",
                        String.format(Locale.ROOT, "%.1f", mb(max)),
                        "<= " + TARGET_RSS_BYTES / (1 << 20) + (met ? " met" : " NOT MET"));
                t.row("VmHWM, peak (MB)", String.format(Locale.ROOT, "%.1f", mb(peak)), "");
                if (outageEnd.isPresent()) {
                    t.row(
                            "VmRSS, end of the outage (MB)",
                            String.format(
                                    Locale.ROOT, "%.1f", mb(outageEnd.get().rssBytes())),
                            "");
                    t.row("VmRSS, max during the outage (MB)", String.format(Locale.ROOT, "%.1f", mb(outageMax)), "");
                    t.row("VmRSS, max after the outage (MB)", String.format(Locale.ROOT, "%.1f", mb(afterMax)), "");
                    t.row(
                            "reports received before the outage ended",
                            outageEnd.get().reports(),
                            "");
                    t.row("reports dropped by the full outbox (agent's log)", dropped, "");
                }
                t.row("reports received by the broker", last.reports(), "");
                t.row("samples", samples.size(), "");
                t.print(out);
                out.printf(Locale.ROOT, "load average before: %s; after: %s%n", loadBefore, loadAfter);
            }
            out.flush();
            return met;
        }

        /**
         * What the JVM holds, by {@code jcmd} (from this JVM's own JDK): threads by name (digits
         * folded), classes loaded, the metaspace and, with {@code --nmt}, the native memory summary.
         */
        private void printInside(PrintWriter out, long pid) {
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            if (!Files.isExecutable(jcmd)) {
                out.println("(no jcmd at " + jcmd + ": threads and classes not shown; a JDK rather than a JRE has it)");
                return;
            }
            java.util.Map<String, Integer> threads = new java.util.TreeMap<>();
            for (String line : jcmd(jcmd, pid, "Thread.print").lines().toList()) {
                if (line.startsWith("\"")) {
                    String name = line.substring(1, Math.max(1, line.indexOf('"', 1)));
                    threads.merge(name.replaceAll("\\d+", "N"), 1, Integer::sum);
                }
            }
            out.printf(
                    Locale.ROOT,
                    "threads: %d (jcmd Thread.print, its attach listener included; /proc/%d/task: %d)%n",
                    threads.values().stream().mapToInt(Integer::intValue).sum(),
                    pid,
                    taskCount(pid));
            threads.forEach((name, n) -> out.printf(Locale.ROOT, "  %3d  %s%n", n, name));
            for (String line : jcmd(jcmd, pid, "PerfCounter.print").lines().toList()) {
                if (line.startsWith("java.cls.loadedClasses=")
                        || line.startsWith("java.cls.unloadedClasses=")
                        || line.startsWith("java.cls.sharedLoadedClasses=")
                        || line.startsWith("sun.cls.appClassLoadCount=")) {
                    out.println("  " + line);
                }
            }
            if (nmt) {
                out.println(jcmd(jcmd, pid, "VM.native_memory", "summary"));
            } else {
                for (String line : jcmd(jcmd, pid, "GC.heap_info").lines().toList()) {
                    out.println("  " + line.strip());
                }
            }
            out.flush();
        }

        /** Size of the agent's outbox journal file (preallocated in steps, so an upper bound of what it holds). */
        private static long outboxBytes(Path work) {
            try {
                return Files.size(work.resolve("agent").resolve(AgentWiring.OUTBOX_FILE));
            } catch (IOException e) {
                return -1;
            }
        }

        private static long taskCount(long pid) {
            try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
                return tasks.count();
            } catch (IOException e) {
                return -1;
            }
        }

        private static String jcmd(Path jcmd, long pid, String... command) {
            List<String> argv = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
            argv.addAll(List.of(command));
            try {
                Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(60, TimeUnit.SECONDS);
                return text;
            } catch (IOException e) {
                return "(jcmd failed: " + e.getMessage() + ")";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "(interrupted)";
            }
        }

        /** The launcher: --launcher, $PROSPECTOR_LAUNCHER, the build tree's root, or the installed one. */
        static Path findLauncher(Path given) {
            if (given != null) {
                return requireExecutable(given, "--launcher");
            }
            String env = System.getenv("PROSPECTOR_LAUNCHER");
            if (env != null && !env.isBlank()) {
                return requireExecutable(Path.of(env), "PROSPECTOR_LAUNCHER");
            }
            List<Path> candidates = new ArrayList<>();
            try {
                // agent/bench/target/prospector-bench.jar (or agent/bench/target/classes) -> the tree's root.
                Path code = Path.of(BenchTransportCommand.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI());
                Path module = code.getParent() == null ? null : code.getParent().getParent();
                if (module != null
                        && module.getParent() != null
                        && module.getParent().getParent() != null) {
                    candidates.add(module.getParent().getParent().resolve("prospector"));
                }
            } catch (URISyntaxException | RuntimeException e) {
                // No code source: only the installed launcher is left.
            }
            candidates.add(Path.of("/usr/bin/prospector"));
            return candidates.stream()
                    .filter(Files::isExecutable)
                    .findFirst()
                    .orElseThrow(() -> new Failure("cannot find the prospector launcher (tried " + candidates
                            + "): pass --launcher PATH or set PROSPECTOR_LAUNCHER"));
        }

        private static Path requireExecutable(Path p, String from) {
            if (!Files.isExecutable(p)) {
                throw new Failure(from + ": launcher " + p + " does not exist or is not executable");
            }
            return p;
        }

        private static void requireAlive(Process child, Path work) {
            if (!child.isAlive()) {
                throw new Failure("`prospector run` exited with code " + child.exitValue() + ": "
                        + tail(work.resolve("run.err")));
            }
        }

        private static String tail(Path file) {
            List<String> lines = readQuietly(file).lines().toList();
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        }

        /** A {@code kB} field of /proc/PID/status, in bytes. */
        static long status(long pid, String field) {
            for (String line :
                    readQuietly(Path.of("/proc/" + pid + "/status")).lines().toList()) {
                if (line.startsWith(field + ":")) {
                    String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
            throw new Failure("/proc/" + pid + "/status has no " + field + " line: this benchmark needs Linux");
        }

        private static void stop(Process child) throws InterruptedException {
            child.destroy(); // SIGTERM: the agent's shutdown hook closes it cleanly
            if (!child.waitFor(15, TimeUnit.SECONDS)) {
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }

        private static double mb(long bytes) {
            return bytes / (double) (1 << 20);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new Failure(message);
        }
    }

    private void progress(PrintWriter err, String what) {
        progress(err, json, what);
    }

    private static void progress(PrintWriter err, boolean quiet, String what) {
        if (!quiet) {
            err.println(what + " ...");
            err.flush();
        }
    }

    /** Waits (polling every millisecond) until {@code condition} holds, at most {@link #PHASE_LIMIT}. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + PHASE_LIMIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "gave up waiting for " + what + " after " + PHASE_LIMIT.toSeconds() + " s");
            }
            TimeUnit.MICROSECONDS.sleep(500);
        }
    }

    static double median(java.util.stream.DoubleStream values) {
        double[] v = values.sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static CBORObject array(java.util.stream.DoubleStream values) {
        CBORObject a = CBORObject.NewArray();
        values.forEach(v -> a.Add(round1(v)));
        return a;
    }

    private static String runs(java.util.stream.DoubleStream values) {
        return "["
                + String.join(", ", values.mapToObj(BenchTransportCommand::fmt).toList()) + "]";
    }

    private static String fmt(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** The 1, 5 and 15 minute load averages, or "n/a". */
    static String loadAverage() {
        String s = readQuietly(Path.of("/proc/loadavg")).strip();
        String[] parts = s.split("\\s+");
        return parts.length >= 3 ? parts[0] + " " + parts[1] + " " + parts[2] : "n/a";
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "";
        }
    }

    static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new Failure("cannot create a temporary directory: " + e.getMessage() + " (set java.io.tmpdir)");
        }
    }

    static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // Left in the temporary directory.
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // Left in the temporary directory.
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
