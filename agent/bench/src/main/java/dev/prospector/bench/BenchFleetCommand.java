package dev.prospector.bench;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.Table;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.console.FleetConsole;
import dev.prospector.agent.fleet.BuiltinHandlers;
import dev.prospector.agent.fleet.CommandService;
import dev.prospector.agent.fleet.Role;
import dev.prospector.agent.fleet.TrustedOperators;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.OperatorKey;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench fleet}: the fleet console at scale, on Mosquitto on loopback.
 *
 * <ol>
 *   <li><b>list</b>: {@code --devices} (10,000) devices' retained births and compact states are
 *       published (real device keys and ids), then a new console connects and reads them all, as
 *       {@code prospector fleet list} does (connect, subscribe, the marker that says every retained
 *       message is in). Target: under {@link #TARGET_LIST_MS} ms.
 *   <li><b>the whole command</b>: the launcher ({@code ./prospector fleet list}) run as a
 *       subprocess against the same broker, wall clock from start to exit (JVM start, class
 *       loading, receive, parse, the 10,000-row table written to a pipe that counts its lines).
 *       One untimed run first (it may write the launcher's class-data archive), then
 *       {@code --runs} timed. Target: under {@link #TARGET_LIST_MS} ms too.
 *   <li><b>send --all ping</b>: {@code --emulated} (1,000) devices in this process, each with its
 *       own key, data dir (nonce store), MQTT connection and {@link CommandService}; a console
 *       sends one signed {@code ping} to all and collects every signed result, verified against
 *       the keys in their births. Target: every device answers ok.
 * </ol>
 * Each figure runs {@code --runs} times; the median and the worst are printed.
 */
@Command(
        name = "fleet",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the fleet console against Mosquitto on loopback.",
            "`fleet list` over --devices retained states, and `fleet send --all ping` to --emulated devices"
                    + " in this process.",
            "Exits 1 when list takes 2 s or more (in process, or ./prospector fleet list as a whole command),"
                    + " or a device does not answer ok."
        })
public final class BenchFleetCommand implements Callable<Integer> {
    static final long TARGET_LIST_MS = 2_000;

    @Spec
    CommandSpec spec;

    @Option(
            names = "--devices",
            defaultValue = "10000",
            description = "Retained device states for list (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--emulated",
            defaultValue = "1000",
            description = "Emulated devices answering commands (default: ${DEFAULT-VALUE}).")
    int emulated;

    @Option(names = "--runs", defaultValue = "3", description = "Runs of each figure (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--broker", paramLabel = "URL", description = "Use this broker instead of starting Mosquitto.")
    String broker;

    @Option(
            names = "--mosquitto",
            paramLabel = "PATH",
            defaultValue = "/usr/sbin/mosquitto",
            description = "Mosquitto binary to start on a free loopback port (default: ${DEFAULT-VALUE}).")
    Path mosquitto;

    @Option(names = "--json", description = "One JSON document instead of a table.")
    boolean json;

    @Option(
            names = "--launcher",
            paramLabel = "PATH",
            description =
                    "The prospector launcher to time as a whole command (default: the source tree's ./prospector).")
    Path launcher;

    @Override
    public Integer call() throws Exception {
        if (devices < 1 || emulated < 1 || runs < 1) {
            throw new Failure("--devices, --emulated and --runs must be at least 1");
        }
        PrintWriter err = spec.commandLine().getErr();
        Path work = Files.createTempDirectory("prospector-bench-fleet");
        // A random fleet name: on a given broker (--broker) the retained messages left behind never
        // mix with real boards'.
        String fleet = "bench-" + HexFormat.of().formatHex(java.security.SecureRandom.getSeed(4));
        try (var b = BenchTransportCommand.LoopbackBroker.startOrUse(
                broker, mosquitto, work.resolve("mosquitto"), 100_000, 20)) {
            BrokerUrl url = BrokerUrl.parse(b.url());
            progress(err, "broker " + url + (b.started() ? " (Mosquitto started here)" : "") + ", fleet " + fleet);

            // --- list
            long t0 = System.nanoTime();
            publishStates(url, fleet, devices);
            progress(
                    err,
                    "published " + devices + " retained births and states in "
                            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms");
            long[] listMs = new long[runs];
            int seen = 0;
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                long synced;
                try (var console = new FleetConsole(MqttSettings.of(url, FleetConsole.clientId()), fleet)) {
                    console.connect(Duration.ofSeconds(60));
                    synced = System.nanoTime();
                    seen = console.devices().size();
                }
                listMs[r] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                progress(
                        err,
                        "list run " + (r + 1) + ": " + seen + " devices in " + listMs[r] + " ms (connect and receive "
                                + TimeUnit.NANOSECONDS.toMillis(synced - start) + " ms, parse "
                                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - synced) + " ms)");
            }

            // --- the whole command, as an operator runs it
            Path script = launcher != null ? launcher : sourceTreeLauncher();
            long[] wholeMs = new long[runs];
            int wholeRows = Integer.MAX_VALUE;
            WholeRun first = wholeCommand(script, url, fleet);
            progress(
                    err,
                    "whole command, untimed first run: " + first.rows() + " rows in " + first.ms()
                            + " ms (may write the launcher's class-data archive)");
            for (int r = 0; r < runs; r++) {
                WholeRun w = wholeCommand(script, url, fleet);
                wholeMs[r] = w.ms();
                wholeRows = Math.min(wholeRows, w.rows());
                progress(
                        err,
                        "whole command run " + (r + 1) + ": " + script + " fleet list: " + w.rows() + " device rows in "
                                + w.ms() + " ms wall clock (its own line: " + w.summary() + ")");
            }

            // --- send --all ping
            String sendFleet = fleet + "-send";
            OperatorKey operator = OperatorKey.generate();
            Path opPub = work.resolve("operator.pub");
            Files.writeString(opPub, operator.publicPem());
            var trusted = TrustedOperators.load(List.of(new TrustedOperators.Spec(opPub, Role.ADMIN)));
            ExecutorService workers = Executors.newFixedThreadPool(4, r -> {
                Thread t = new Thread(r, "bench-fleet-cmd");
                t.setDaemon(true);
                return t;
            });
            List<Emulated> boards = new ArrayList<>();
            long s0 = System.nanoTime();
            ExecutorService starter = Executors.newFixedThreadPool(8);
            List<CompletableFuture<Emulated>> starting = new ArrayList<>();
            for (int i = 0; i < emulated; i++) {
                Path d = work.resolve("dev-" + i);
                starting.add(CompletableFuture.supplyAsync(
                        () -> Emulated.start(url, sendFleet, d, trusted, workers), starter));
            }
            for (var f : starting) {
                boards.add(f.get(120, TimeUnit.SECONDS));
            }
            starter.shutdown();
            progress(
                    err,
                    "started " + emulated
                            + " emulated devices (own key, data dir, MQTT connection, command service) in "
                            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - s0) + " ms");
            long[] sendMs = new long[runs];
            int[] ok = new int[runs];
            try (var console = new FleetConsole(MqttSettings.of(url, FleetConsole.clientId()), sendFleet)) {
                console.connect(Duration.ofSeconds(60));
                for (int r = 0; r < runs; r++) {
                    FleetCommand cmd = console.command(
                            FleetCommand.ALL, "ping", Map.of(), Duration.ofMinutes(5), Clock.systemUTC());
                    var outcome = console.send(cmd, operator, Duration.ofSeconds(120), x -> {});
                    sendMs[r] = outcome.took().toMillis();
                    ok[r] = (int) outcome.results().values().stream()
                            .filter(x -> x.status().equals("ok"))
                            .count();
                    progress(
                            err,
                            "send --all ping run " + (r + 1) + ": " + ok[r] + "/"
                                    + outcome.expected().size() + " ok in " + sendMs[r] + " ms (" + console.unverified()
                                    + " unverified results seen)");
                }
            }
            // Closed in parallel: each disconnect waits for the broker's answer.
            ExecutorService closer = Executors.newFixedThreadPool(32);
            CompletableFuture.allOf(boards.stream()
                            .map(e -> CompletableFuture.runAsync(e::close, closer))
                            .toArray(CompletableFuture[]::new))
                    .get(120, TimeUnit.SECONDS);
            closer.shutdown();
            workers.shutdownNow();

            long listMedian = median(listMs);
            long listWorst = Arrays.stream(listMs).max().orElse(0);
            long sendMedian = median(sendMs);
            int minOk = Arrays.stream(ok).min().orElse(0);
            long wholeMedian = median(wholeMs);
            long wholeWorst = Arrays.stream(wholeMs).max().orElse(0);
            boolean pass = listWorst < TARGET_LIST_MS
                    && seen == devices
                    && minOk == emulated
                    && wholeRows == devices
                    && wholeMedian < TARGET_LIST_MS
                    && wholeWorst < TARGET_LIST_MS;
            PrintWriter out = spec.commandLine().getOut();
            String machine = Runtime.getRuntime().availableProcessors() + " cpu, load "
                    + String.format(
                            java.util.Locale.ROOT,
                            "%.2f",
                            java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                                    .getSystemLoadAverage());
            if (json) {
                out.println(JsonOutput.of(CBORObject.NewOrderedMap()
                        .Add("machine", machine)
                        .Add("broker", b.started() ? "mosquitto on loopback (started by the bench)" : broker)
                        .Add("list_devices", seen)
                        .Add("list_ms_median", listMedian)
                        .Add("list_ms_worst", listWorst)
                        .Add("list_target_ms", TARGET_LIST_MS)
                        .Add("whole_command_rows_min", wholeRows)
                        .Add("whole_command_ms_median", wholeMedian)
                        .Add("whole_command_ms_worst", wholeWorst)
                        .Add("send_devices", emulated)
                        .Add("send_ok_min", minOk)
                        .Add("send_ms_median", sendMedian)
                        .Add("pass", pass)));
            } else {
                new Table("FIGURE", "VALUE", "TARGET")
                        .row("fleet list: devices read", seen + " of " + devices, "all")
                        .row("fleet list: ms (median of " + runs + ")", listMedian, "< " + TARGET_LIST_MS)
                        .row("fleet list: ms (worst)", listWorst, "< " + TARGET_LIST_MS)
                        .row("fleet list, whole command: rows (fewest)", wholeRows + " of " + devices, "all")
                        .row(
                                "fleet list, whole command: wall ms (median of " + runs + ")",
                                wholeMedian,
                                "< " + TARGET_LIST_MS)
                        .row("fleet list, whole command: wall ms (worst)", wholeWorst, "< " + TARGET_LIST_MS)
                        .row("send --all ping: answered ok (fewest of " + runs + ")", minOk + " of " + emulated, "all")
                        .row("send --all ping: ms (median)", sendMedian, "-")
                        .print(out);
                out.println("machine: " + machine + (pass ? "; every target met" : "; A TARGET WAS MISSED"));
            }
            out.flush();
            return pass ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
        } finally {
            deleteQuietly(work);
        }
    }

    /** One run of the launcher: wall clock, device rows on stdout, and its own summary line. */
    record WholeRun(long ms, int rows, String summary) {}

    /**
     * Runs {@code script fleet list} against the broker as an operator would, stdout read (and its
     * device rows counted) as it comes; wall clock from the start of the process to its exit.
     * PROSPECTOR_JAVA_OPTS is removed: the launcher's own options are what is measured.
     */
    static WholeRun wholeCommand(Path script, BrokerUrl url, String fleet) throws Exception {
        var pb = new ProcessBuilder(script.toString(), "fleet", "list", "--broker", url.toString(), "--fleet", fleet)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().remove("PROSPECTOR_JAVA_OPTS");
        long start = System.nanoTime();
        Process p = pb.start();
        int rows = 0;
        String last = "";
        try (var in = new java.io.BufferedReader(
                new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8), 1 << 16)) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("p") && line.indexOf(' ') == DeviceId.LENGTH) {
                    rows++;
                } else if (!line.startsWith("DEVICE")) {
                    last = line;
                }
            }
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new Failure(script + " fleet list did not finish within 120 s");
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (p.exitValue() != 0) {
            throw new Failure(script + " fleet list exited with " + p.exitValue() + " (its stderr is above)");
        }
        return new WholeRun(ms, rows, last);
    }

    /** {@code ./prospector} of the source tree this benchmark's jar was built in (agent/bench/target/). */
    static Path sourceTreeLauncher() {
        try {
            Path jar = Path.of(BenchFleetCommand.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            Path root = jar.getParent().getParent().getParent().getParent();
            Path script = root.resolve("prospector");
            if (Files.isExecutable(script)) {
                return script;
            }
        } catch (java.net.URISyntaxException | NullPointerException | SecurityException e) {
            // fall through to the message below
        }
        throw new Failure("no ./prospector launcher beside this benchmark's jar: give --launcher PATH");
    }

    private static long median(long[] v) {
        long[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    private static void progress(PrintWriter err, String line) {
        err.println("  " + line);
        err.flush();
    }

    /** Retained births and compact states, as boards publish them, for {@code n} devices with real keys. */
    private static void publishStates(BrokerUrl url, String fleet, int n) throws Exception {
        var link = new MqttLink(
                MqttSettings.of(url, "bench-states").withSessionExpiry(Duration.ZERO), Optional.empty(), (t, p) -> {});
        link.connect();
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        String now = Instant.now().toString();
        for (int i = 0; i < n; i++) {
            DeviceKeys k = DeviceKeys.generate();
            String d = k.deviceId().value();
            sent.add(link.publish(Topics.state(fleet, d), Emulated.birth(k, now), 1, true));
            byte[] summary = CBORObject.NewOrderedMap()
                    .Add("version", "0.1.0")
                    .Add("connected", true)
                    .Add("made", 100 + i)
                    .Add("delivered", 100 + i)
                    .Add(
                            "last_receipt",
                            CBORObject.NewOrderedMap()
                                    .Add("ok", i % 50 != 0)
                                    .Add("reason", i % 50 != 0 ? "" : "STALE")
                                    .Add("detail", "")
                                    .Add("seq", 100)
                                    .Add("at", now))
                    .Add("device", d)
                    .Add("groups", CBORObject.NewArray().Add("g" + (i % 10)))
                    .Add("time", now)
                    .ToJSONString()
                    .getBytes(StandardCharsets.UTF_8);
            sent.add(link.publish(Topics.summary(fleet, d), summary, 1, true));
            if (sent.size() > 2_000) {
                CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                sent.clear();
            }
        }
        CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        link.close();
    }

    private static void deleteQuietly(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            // temporary files: left for the OS
        }
    }

    /** One emulated device: its key, data dir, MQTT connection and command service. */
    static final class Emulated implements AutoCloseable {
        private final MqttLink link;
        private final CommandService service;

        private Emulated(MqttLink link, CommandService service) {
            this.link = link;
            this.service = service;
        }

        static byte[] birth(DeviceKeys k, String time) {
            return CBORObject.NewOrderedMap()
                    .Add("online", true)
                    .Add("device", k.deviceId().value())
                    .Add("version", "0.1.0")
                    .Add("board", "emulated")
                    .Add("key_hex", HexFormat.of().formatHex(k.publicKey()))
                    .Add("time", time)
                    .ToJSONString()
                    .getBytes(StandardCharsets.UTF_8);
        }

        static Emulated start(
                BrokerUrl url, String fleet, Path dataDir, TrustedOperators trusted, ExecutorService workers) {
            DeviceKeys keys = DeviceKeys.generate();
            Map<String, CommandService.Inbound> routes = new ConcurrentHashMap<>();
            MqttLink link = new MqttLink(
                    MqttSettings.of(url, "bench-" + keys.deviceId().value()).withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    new MqttLink.AcknowledgingListener() {
                        @Override
                        public void onMessage(String topic, byte[] payload, Runnable ack) {
                            onMessage(topic, payload, MqttLink.Reply.NONE, ack);
                        }

                        @Override
                        public void onMessage(String topic, byte[] payload, MqttLink.Reply reply, Runnable ack) {
                            var r = routes.get(topic);
                            if (r != null) {
                                r.onMessage(topic, payload, reply);
                            }
                            ack.run();
                        }
                    });
            List<Runnable> hooks = new java.util.concurrent.CopyOnWriteArrayList<>();
            var channel = new CommandService.Channel() {
                @Override
                public void route(String topic, CommandService.Inbound inbound) {
                    routes.put(topic, inbound);
                    link.subscribe(topic, 1);
                }

                @Override
                public CompletableFuture<Void> publish(String topic, byte[] payload, Optional<byte[]> correlationData) {
                    return link.publish(topic, payload, 1, false, correlationData);
                }

                @Override
                public CompletableFuture<Void> publishRetained(String topic, byte[] payload) {
                    return link.publish(topic, payload, 1, true);
                }

                @Override
                public void onConnect(Runnable hook) {
                    hooks.add(hook);
                }

                @Override
                public boolean connected() {
                    return link.isConnected();
                }
            };
            var after = new CommandService.AfterAnswer();
            AtomicInteger asked = new AtomicInteger();
            var board = new BuiltinHandlers.Board() {
                @Override
                public Map<String, Object> status() {
                    return Map.of("emulated", true);
                }

                @Override
                public void reportNow() {
                    asked.incrementAndGet();
                }

                @Override
                public String identify(Duration duration) {
                    return "no-led";
                }

                @Override
                public void restart(String why) {
                    asked.incrementAndGet();
                }

                @Override
                public Map<String, Object> rotateKey() {
                    throw new UnsupportedOperationException("not in the benchmark");
                }
            };
            var service = new CommandService(
                    fleet,
                    keys,
                    List.of(),
                    trusted,
                    BuiltinHandlers.all(board, after, Clock.systemUTC()),
                    Clock.systemUTC(),
                    CommandService.DEFAULT_SKEW,
                    dataDir,
                    channel,
                    after,
                    () -> Map.of("emulated", true),
                    workers);
            service.start();
            link.connect();
            try {
                link.publish(
                                Topics.state(fleet, keys.deviceId().value()),
                                birth(keys, Instant.now().toString()),
                                1,
                                true)
                        .get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new Failure("emulated device could not publish its birth: " + e.getMessage());
            }
            return new Emulated(link, service);
        }

        @Override
        public void close() {
            service.close();
            link.close();
        }
    }
}
