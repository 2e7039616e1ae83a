package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.agent.verifier.AcceptedLog;
import dev.prospector.agent.verifier.ServiceSettings;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
        name = "verifier",
        mixinStandardHelpOptions = true,
        description = {
            "Run the network side's verifier for a fleet.",
            "Appraises every report, logs one line per outcome, and sends each device a signed receipt."
        },
        subcommands = VerifierCommand.Repair.class)
public final class VerifierCommand implements Callable<Integer> {
    /** Where {@code --group} without {@code --kafka} and {@code --partition} send the user. */
    static final String GROUPS_ON_KAFKA =
            "verifier groups run on Kafka (the MQTT forwarding group was retired, see docs/NETWORK.md)";

    /** A verifier group's name: what Kafka's group id and transactional ids are made of. */
    private static final Pattern GROUP_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    @Spec
    CommandSpec spec;

    @Mixin
    FleetOptions connection;

    @Option(
            names = "--group",
            paramLabel = "NAME",
            description =
                    "With --kafka: the consumer group of the fleet's verifiers; every verifier of the fleet gives the same name.")
    String group;

    /** Retired with the MQTT forwarding group: refused with a message that says what to use instead. */
    @Option(names = "--partition", paramLabel = "I/N", hidden = true)
    String partition;

    @Option(
            names = "--kafka",
            paramLabel = "HOST:PORT[,...]",
            description =
                    "Take the fleet's reports from Kafka instead of MQTT: this verifier joins the consumer group --group and"
                            + " writes its verdicts to the acceptance topic in transactions (docs/NETWORK.md); receipts still go out"
                            + " over MQTT. Needs the network side's Kafka module (agent/kafka).")
    String kafka;

    @Option(
            names = "--kafka-partitions",
            paramLabel = "N",
            defaultValue = "12",
            description =
                    "With --kafka: partitions of the fleet's topics if this verifier creates them (default: ${DEFAULT-VALUE}).")
    int kafkaPartitions;

    @Option(
            names = "--kafka-replication",
            paramLabel = "N",
            defaultValue = "3",
            description =
                    "With --kafka: replicas of the fleet's topics if this verifier creates them; min.insync.replicas is one less"
                            + " (default: ${DEFAULT-VALUE}; 1 for a single test broker).")
    short kafkaReplication;

    @Option(
            names = "--id",
            paramLabel = "NAME",
            description =
                    "MQTT client id; the broker keeps its session (and queues reports) while it is away. Default: "
                            + "prospector-verifier-FLEET-<16 random characters> (with --kafka: kafka-GROUP-<16 random characters>), made once and kept in the state dir's client-id file"
                            + " (without --state-dir, new for each process).")
    String clientId;

    @Option(
            names = "--receipt-batch",
            paramLabel = "N",
            defaultValue = "64",
            description =
                    "Receipts signed under one signature at most, when reports queue up (default: ${DEFAULT-VALUE};"
                            + " 1 to 256): one Ed25519 signature over their Merkle root, each receipt sent with its path"
                            + " (docs/EVIDENCE.md). 1 signs each receipt alone, the only form boards built before December 2026"
                            + " read. Not with --kafka.")
    int receiptBatch;

    @Option(
            names = "--session-expiry",
            defaultValue = "1d",
            converter = DurationConverter.class,
            description =
                    "How long the broker queues reports for this verifier while it is away (default: ${DEFAULT-VALUE}; 0s for none)."
                            + " Not with --kafka (the reports wait in Kafka).")
    Duration sessionExpiry;

    @Option(
            names = "--state-dir",
            paramLabel = "DIR",
            description =
                    "Keep the verifier's state here: what it accepted (accepted.log), each device's pinned key (key-pins), the challenge"
                            + " secret (challenge.key, mode 0600), the receipt key (receipt-key/), the client id (client-id), and the proofs of"
                            + " service (pos.state, rewards.log, reward-key/, measure-key/), so that after a restart duplicates, replays,"
                            + " rotated-away keys, the challenges it issued, reputations and issued rewards are still known. One verifier per dir (lock).")
    Path stateDir;

    @Option(
            names = "--receipt-key-dir",
            paramLabel = "DIR",
            description =
                    "The key that signs every receipt: device.key (0600) and device.pub, made there on first start."
                            + " Default: receipt-key/ in --state-dir; without either, a key for this process only, which boards cannot trust across restarts.")
    Path receiptKeyDir;

    @Option(names = "--json", description = "Print every outcome as one JSON object per line on stdout.")
    boolean json;

    @Mixin
    BrokerSecurityOptions security;

    @Option(
            names = "--clock-skew",
            defaultValue = "5m",
            converter = DurationConverter.class,
            description = "Largest difference accepted between a report's time and ours (default: ${DEFAULT-VALUE}).")
    Duration clockSkew;

    @Option(
            names = "--registry",
            paramLabel = "FILE",
            description =
                    "Accept reports only from the device ids listed in FILE (one per line, # comments); others are unknown-device.")
    Path registry;

    @Option(
            names = "--require-nonce",
            description =
                    "Reject reports that answer no challenge (a device's first reports, before its first receipt, do not).")
    boolean requireNonce;

    @Option(
            names = "--allow-emulated",
            description =
                    "Accept reports from emulated boards (claim emulated), for tests and demos; refused as emulated otherwise.")
    boolean allowEmulated;

    @Option(
            names = "--new-devices-per-minute",
            paramLabel = "N",
            defaultValue = "" + AppraiserConfig.DEFAULT_NEW_DEVICES_PER_MINUTE,
            description =
                    "Without --registry: most devices taken on for the first time per minute (a burst of N, then N a minute);"
                            + " the first reports of further ones are refused as rate-limited and sent again later by the boards. 0 for no cap (default: ${DEFAULT-VALUE}).")
    int newDevicesPerMinute;

    @Option(
            names = "--max-devices",
            paramLabel = "N",
            defaultValue = "" + AppraiserConfig.DEFAULT_MAX_DEVICES,
            description =
                    "Most devices the verifier keeps chain state for (about 2.5 KiB each); reports of further new devices are refused as rate-limited (default: ${DEFAULT-VALUE}).")
    int maxDevices;

    @Option(
            names = "--measure-port",
            paramLabel = "PORT",
            defaultValue = "0",
            description =
                    "Run a bandwidth measurement endpoint in this process on PORT (plain HTTP), trusted automatically;"
                            + " its key is measure-key/ in --state-dir. 0: none (default: ${DEFAULT-VALUE}). Not with --kafka:"
                            + " run `prospector measure` beside it and give its key with --measure-key.")
    int measurePort;

    @Option(
            names = "--measure-bind",
            paramLabel = "ADDR",
            defaultValue = "127.0.0.1",
            description =
                    "Address the --measure-port endpoint listens on; boards must reach it (default: ${DEFAULT-VALUE}).")
    String measureBind;

    @Option(
            names = "--measure-max-bytes",
            paramLabel = "SIZE",
            defaultValue = "64M",
            converter = SizeConverter.class,
            description = "Largest transfer the --measure-port endpoint serves (default: ${DEFAULT-VALUE}).")
    long measureMaxBytes;

    @Option(
            names = "--measure-key",
            paramLabel = "FILE",
            split = ",",
            description =
                    "Public key (PEM) of a measurement endpoint whose signed bandwidth receipts count: the device.pub that"
                            + " `prospector measure` names. Repeatable (or comma-separated in the config file).")
    List<Path> measureKeys = new ArrayList<>();

    @Option(
            names = "--audit-every",
            defaultValue = "1h",
            converter = DurationConverter.class,
            description =
                    "How often a device that committed a plot is audited, at a random moment of each period (default: ${DEFAULT-VALUE}).")
    Duration auditEvery;

    @Option(
            names = "--audit-leaves",
            paramLabel = "K",
            defaultValue = "8",
            description = "Plot leaves an audit names, 1 to 10 (default: ${DEFAULT-VALUE}).")
    int auditLeaves;

    @Option(
            names = "--audit-deadline",
            defaultValue = "2s",
            converter = DurationConverter.class,
            description =
                    "How long after its receipt an audit must be answered, by this verifier's clock; a later correct answer"
                            + " is contained and audited again (default: ${DEFAULT-VALUE}).")
    Duration auditDeadline;

    @Option(
            names = "--bandwidth-every",
            defaultValue = "6h",
            converter = DurationConverter.class,
            description =
                    "How often a device is asked a bandwidth test, when a measurement endpoint is trusted (default: ${DEFAULT-VALUE}).")
    Duration bandwidthEvery;

    @Option(
            names = "--epoch",
            defaultValue = "1h",
            converter = DurationConverter.class,
            description = "Length of a scoring and reward epoch, by this verifier's clock (default: ${DEFAULT-VALUE}).")
    Duration epoch;

    @Option(
            names = "--uptime-max-gap",
            defaultValue = "3m",
            converter = DurationConverter.class,
            description =
                    "Longest gap between two reports of a device that still counts as up; set it above the boards' --interval"
                            + " (default: ${DEFAULT-VALUE}).")
    Duration uptimeMaxGap;

    @Option(
            names = "--storage-target",
            paramLabel = "SIZE",
            defaultValue = "1G",
            converter = SizeConverter.class,
            description = "Proven plot size that earns the full storage share of a score (default: ${DEFAULT-VALUE}).")
    long storageTarget;

    @Option(
            names = "--reward-per-epoch",
            paramLabel = "N",
            defaultValue = "1000",
            description = "Reward units of a perfect score in one epoch (default: ${DEFAULT-VALUE}).")
    long rewardPerEpoch;

    /** The proof-of-service settings these options describe. */
    ServiceSettings proofs() {
        List<byte[]> trusted = new ArrayList<>();
        for (Path file : measureKeys) {
            try {
                trusted.add(DeviceKeys.readPublicKey(file));
            } catch (KeyCustodyException e) {
                throw new Failure("--measure-key: " + e.getMessage());
            }
        }
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trusted,
                measurePort,
                measureBind,
                measureMaxBytes);
    }

    /** The settings these options describe. */
    VerifierWiring.Settings settings() {
        if (clockSkew.isZero() || clockSkew.compareTo(AppraiserConfig.MAX_CLOCK_SKEW_WINDOW) > 0) {
            throw new Failure("--clock-skew " + DurationConverter.format(clockSkew)
                    + " is out of range: use more than 0s and at most "
                    + DurationConverter.format(AppraiserConfig.MAX_CLOCK_SKEW_WINDOW) + " (default 5m)");
        }
        if (partition != null) {
            throw new Failure("--partition is no longer an option: " + GROUPS_ON_KAFKA
                    + "; use --kafka HOST:PORT --group NAME, Kafka assigns the partitions");
        }
        if (group != null && kafka == null) {
            throw new Failure("--group needs --kafka HOST:PORT: " + GROUPS_ON_KAFKA);
        }
        if (group != null && !GROUP_NAME.matcher(group).matches()) {
            throw new Failure("--group '" + group + "' is not valid: use 1-63 lowercase letters, digits, '_' or '-'");
        }
        if (kafka != null) {
            refuseMqttOnlyOptions();
        }
        return new VerifierWiring.Settings(
                connection.broker(),
                connection.fleet(),
                Optional.ofNullable(stateDir),
                Optional.ofNullable(receiptKeyDir),
                clockSkew,
                Optional.ofNullable(registry),
                requireNonce,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute,
                Optional.ofNullable(clientId),
                sessionExpiry,
                proofs(),
                receiptBatch);
    }

    /** The options of the measurement endpoint in the verifier's process, which a Kafka verifier does not run. */
    static final List<String> ENDPOINT_OPTIONS = List.of("--measure-port", "--measure-bind", "--measure-max-bytes");

    /**
     * With {@code --kafka}: refuses, in one line, the options only the MQTT verifier acts on, given on
     * the command line or in the configuration file, rather than run without what they ask.
     */
    private void refuseMqttOnlyOptions() {
        if (given("--receipt-batch")) {
            throw new Failure("--receipt-batch is the MQTT verifier's: with --kafka a poll's receipts are signed "
                    + VerifierService.DEFAULT_RECEIPT_BATCH + " at a time; leave it out");
        }
        if (given("--session-expiry")) {
            throw new Failure("--session-expiry is the MQTT verifier's: with --kafka the reports wait in Kafka, and"
                    + " each bridge's session at the broker is its own (bridge --session-expiry); leave it out");
        }
        List<String> endpoint = ENDPOINT_OPTIONS.stream().filter(this::given).toList();
        if (!endpoint.isEmpty()) {
            throw new Failure(String.join(", ", endpoint)
                    + (endpoint.size() == 1 ? " sets" : " set")
                    + " a measurement endpoint in the verifier's process, which a Kafka verifier does not run: run"
                    + " `prospector measure` beside it and give its key with --measure-key; leave "
                    + (endpoint.size() == 1 ? "it" : "them") + " out (command line and config file)");
        }
    }

    /** Whether an option was given on the command line or in the configuration file. */
    private boolean given(String name) {
        var option = spec.findOption(name);
        if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
            return true;
        }
        var file = spec.commandLine().getDefaultValueProvider();
        try {
            return file != null && file.defaultValue(option) != null;
        } catch (Exception e) {
            throw new IllegalStateException(e); // ConfigFile reads from memory
        }
    }

    /** {@code --kafka}: the verifier of a Kafka consumer group, from agent/kafka. */
    private int kafka(VerifierWiring.Settings settings) throws InterruptedException {
        if (group == null) {
            throw new Failure("--kafka needs --group NAME: the consumer group of the fleet's verifiers");
        }
        if (kafkaPartitions < 1 || kafkaPartitions > 10_000) {
            throw new Failure("--kafka-partitions " + kafkaPartitions + " is out of range: use 1-10000");
        }
        if (kafkaReplication < 1 || kafkaReplication > 16) {
            throw new Failure("--kafka-replication " + kafkaReplication + " is out of range: use 1-16");
        }
        KafkaMode mode = KafkaMode.find()
                .orElseThrow(() -> new Failure("--kafka needs the network side's Kafka module, which is not installed"
                        + " (in a source tree: build agent/kafka with `mvn -o -q -B package -DskipTests`)"));
        return mode.verifier(new KafkaMode.VerifierRequest(
                settings,
                security::apply,
                kafka,
                group,
                kafkaPartitions,
                kafkaReplication,
                json ? Optional.of(spec.commandLine().getOut()) : Optional.empty()));
    }

    @Override
    public Integer call() throws InterruptedException {
        VerifierWiring.Settings settings = settings();
        if (kafka != null) {
            return kafka(settings);
        }
        settings.receiptKeyDir()
                .or(() -> settings.stateDir().map(d -> d.resolve(VerifierWiring.RECEIPT_KEY_DIR)))
                .ifPresent(dir -> DeviceKeyFile.requirePemIfPresent(dir, "receipt key: "));
        VerifierWiring.Verifier verifier = VerifierWiring.open(settings, security::apply, Clock.systemUTC());
        try {
            VerifierService service = verifier.service();
            if (json) {
                PrintWriter out = spec.commandLine().getOut();
                service.observe((device, outcome) -> {
                    synchronized (out) {
                        out.println(JsonOutput.of(VerifierService.outcomeJson(device, outcome)));
                        out.flush();
                    }
                });
            }
            CountDownLatch stopped = new CountDownLatch(1);
            java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
            Runnable stop = () -> {
                if (stopping.compareAndSet(false, true)) {
                    verifier.close(); // flushes the accepted log and releases the state dir
                    stopped.countDown();
                }
            };
            Runtime.getRuntime().addShutdownHook(new Thread(stop, "shutdown"));
            // SIGTERM (systemctl stop) is a clean stop: exit 0. SIGHUP would end the JVM; a verifier's
            // settings all need a restart, so it only says so.
            Signals.onTerminate(() -> {
                Logger.info("stopping on SIGTERM");
                stop.run();
                Signals.exit(0);
            });
            Signals.onHangUp(
                    () -> Logger.warn(
                            "SIGHUP: the verifier's settings take effect only after a restart (systemctl restart); nothing changed"));
            verifier.measureEndpoint()
                    .ifPresent(e -> Logger.info(
                            "measurement endpoint {} (key {}); boards test against it with --measure-endpoint {}",
                            e.url(),
                            e.keyId(),
                            e.url()));
            service.start();
            Logger.info(
                    "verifier for fleet {} started; reaching broker {} (retrying with backoff until it answers)",
                    settings.fleet(),
                    settings.broker());
            stopped.await();
            return 0;
        } catch (RuntimeException | InterruptedException e) {
            verifier.close();
            throw e;
        }
    }

    /** {@code prospector verifier repair}: salvages a damaged accepted log. */
    @Command(
            name = "repair",
            mixinStandardHelpOptions = true,
            description = {
                "Repair a damaged accepted log, keeping every record that checks out.",
                "Writes a new accepted.log from those records and prints what was kept and what was dropped.",
                "Stop the verifier first."
            })
    static final class Repair implements Callable<Integer> {
        @ParentCommand
        VerifierCommand parent;

        @Spec
        CommandSpec spec;

        @Option(
                names = "--state-dir",
                paramLabel = "DIR",
                description = "The verifier's state dir (default: the verifier's --state-dir setting).")
        Path stateDir;

        @Override
        public Integer call() {
            Path dir = stateDir != null ? stateDir : parent.stateDir;
            if (dir == null) {
                throw new Failure("no state dir given: pass --state-dir DIR (the verifier's)");
            }
            if (!Files.isDirectory(dir)) {
                throw new Failure("verifier state dir " + dir + " does not exist");
            }
            PrintWriter out = spec.commandLine().getOut();
            try (StateDirLock lock = VerifierWiring.lock(dir)) {
                AcceptedLog.RepairReport report = AcceptedLog.repair(dir.resolve(VerifierWiring.ACCEPTED_LOG));
                print(report, out);
                return 0;
            } catch (IOException e) {
                throw new Failure("cannot repair the accepted log in " + dir + ": " + e.getMessage());
            }
        }

        private static void print(AcceptedLog.RepairReport r, PrintWriter out) {
            if (r.sources().isEmpty()) {
                out.println("nothing to repair: " + r.file() + " and no damaged copy of it exist");
                out.flush();
                return;
            }
            for (AcceptedLog.Salvage s : r.sources()) {
                out.println(s.file() + ": kept " + s.records() + " record(s)"
                        + (s.dropped().isEmpty()
                                ? ""
                                : "; dropped "
                                        + s.dropped().stream()
                                                .map(Object::toString)
                                                .reduce((a, b) -> a + ", " + b)
                                                .orElse("")
                                        + " (damaged)")
                        + (s.tornTail() > 0 ? "; cut a torn tail of " + s.tornTail() + " byte(s)" : ""));
            }
            out.println("wrote " + r.file() + ": " + r.kept() + " acceptance(s) of " + r.devices() + " device(s)");
            if (r.droppedBytes() > 0) {
                long estimate = r.averageRecordBytes() > 0 ? Math.round(r.droppedBytes() / r.averageRecordBytes()) : 0;
                out.println(String.format(
                        Locale.ROOT,
                        "dropped %d damaged byte(s), about %d record(s): a report they recorded is"
                                + " accepted again if a device sends it again; the damaged copies are kept as *.salvaged",
                        r.droppedBytes(),
                        estimate));
            }
            out.flush();
        }
    }
}
