package dev.prospector.agent.cli;

import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.AcceptedLog;
import dev.prospector.agent.verifier.Partitioning;
import dev.prospector.agent.verifier.VerifierClientId;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.DeviceRegistry;
import dev.prospector.attest.KeyCustodyException;
import dev.prospector.attest.KeyPinStore;
import dev.prospector.attest.Limits;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "verifier", mixinStandardHelpOptions = true,
        description = {"Run the network side's verifier for a fleet.",
            "Appraises every report, logs one line per outcome, and sends each device a signed receipt."},
        subcommands = VerifierCommand.Repair.class)
public final class VerifierCommand implements Callable<Integer> {
    /** The challenge secret's file in the state dir: give every verifier of a group the same one. */
    static final String CHALLENGE_SECRET_FILE = "challenge.key";
    /** The receipt key's folder in the state dir (device.key, device.pub). */
    static final String RECEIPT_KEY_DIR = "receipt-key";
    static final String ACCEPTED_LOG = "accepted.log";

    @Spec
    CommandSpec spec;

    @Mixin
    FleetOptions connection;

    @Option(names = "--group", paramLabel = "NAME",
            description = "Share the fleet's reports with the other verifiers of this group (MQTT 5 shared subscription).")
    String group;

    @Option(names = "--partition", paramLabel = "I/N", defaultValue = "0/1",
            description = "With --group: this verifier serves partition I of N; devices are split by a hash of their id (default: ${DEFAULT-VALUE}).")
    String partition;

    @Option(names = "--id", paramLabel = "NAME",
            description = "MQTT client id; the broker keeps its session (and queues reports) while it is away. Default: "
                    + "prospector-verifier-FLEET[-GROUP-I]-<16 random characters>, made once and kept in the state dir's client-id file"
                    + " (without --state-dir, new for each process).")
    String clientId;

    @Option(names = "--session-expiry", defaultValue = "1d", converter = DurationConverter.class,
            description = "How long the broker queues reports for this verifier while it is away (default: ${DEFAULT-VALUE}; 0s for none).")
    Duration sessionExpiry;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Keep the verifier's state here: what it accepted (accepted.log), each device's pinned key (key-pins), the challenge"
                    + " secret (challenge.key, mode 0600), the receipt key (receipt-key/) and the client id (client-id), so that after a restart"
                    + " duplicates, replays, rotated-away keys and the challenges it issued are still recognised. One verifier per dir (lock).")
    Path stateDir;

    @Option(names = "--receipt-key-dir", paramLabel = "DIR",
            description = "The key that signs every receipt: device.key (0600) and device.pub, made there on first start."
                    + " Default: receipt-key/ in --state-dir; without either, a key for this process only, which boards cannot trust across restarts.")
    Path receiptKeyDir;

    @Option(names = "--json", description = "Print every outcome as one JSON object per line on stdout.")
    boolean json;

    @Mixin
    BrokerSecurityOptions security;

    @Option(names = "--clock-skew", defaultValue = "5m", converter = DurationConverter.class,
            description = "Largest difference accepted between a report's time and ours (default: ${DEFAULT-VALUE}).")
    Duration clockSkew;

    @Option(names = "--registry", paramLabel = "FILE",
            description = "Accept reports only from the device ids listed in FILE (one per line, # comments); others are unknown-device.")
    Path registry;

    @Option(names = "--require-nonce",
            description = "Reject reports that answer no challenge (a device's first reports, before its first receipt, do not).")
    boolean requireNonce;

    @Option(names = "--allow-emulated",
            description = "Accept reports from emulated boards (claim emulated), for tests and demos; refused as emulated otherwise.")
    boolean allowEmulated;

    @Option(names = "--new-devices-per-minute", paramLabel = "N", defaultValue = "" + AppraiserConfig.DEFAULT_NEW_DEVICES_PER_MINUTE,
            description = "Without --registry: most devices taken on for the first time per minute (a burst of N, then N a minute);"
                    + " the first reports of further ones are refused as rate-limited and sent again later by the boards. 0 for no cap (default: ${DEFAULT-VALUE}).")
    int newDevicesPerMinute;

    @Option(names = "--max-devices", paramLabel = "N", defaultValue = "" + AppraiserConfig.DEFAULT_MAX_DEVICES,
            description = "Most devices the verifier keeps chain state for (about 2.5 KiB each); reports of further new devices are refused as rate-limited (default: ${DEFAULT-VALUE}).")
    int maxDevices;

    @Override
    public Integer call() throws InterruptedException {
        String fleet = connection.fleet();
        BrokerUrl url = connection.broker();
        Optional<Partitioning> partitions;
        try {
            partitions = group == null ? Optional.empty() : Optional.of(Partitioning.parse(group, partition));
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        try {
            VerifierService service = assemble(fleet, url, partitions, opened);
            if (json) {
                PrintWriter out = spec.commandLine().getOut();
                service.observe((device, outcome) -> {
                    synchronized (out) {
                        out.println(VerifierService.outcomeJson(device, outcome).ToJSONString());
                        out.flush();
                    }
                });
            }
            CountDownLatch stopped = new CountDownLatch(1);
            java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
            Runnable stop = () -> {
                if (stopping.compareAndSet(false, true)) {
                    closeAll(opened); // flushes the accepted log and releases the state dir
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
            Signals.onHangUp(() -> Logger.warn("SIGHUP: the verifier's settings take effect only after a restart (systemctl restart); nothing changed"));
            service.start();
            Logger.info("verifier for fleet {} started{}; reaching broker {} (retrying with backoff until it answers)", fleet,
                    partitions.map(p -> " (group " + p.group() + ", partition " + p.index() + " of " + p.count() + ")").orElse(""), url);
            stopped.await();
            return 0;
        } catch (RuntimeException | InterruptedException e) {
            closeAll(opened);
            throw e;
        }
    }

    /** Everything the verifier needs, in order: the state dir's lock first. {@code opened} collects what to close. */
    private VerifierService assemble(String fleet, BrokerUrl url, Optional<Partitioning> partitions, Deque<AutoCloseable> opened) {
        if (stateDir != null) {
            opened.push(lock(stateDir));
        }
        if (maxDevices < 1) {
            throw new UserError("--max-devices " + maxDevices + " is out of range: use 1 or more");
        }
        if (newDevicesPerMinute < 0) {
            throw new UserError("--new-devices-per-minute " + newDevicesPerMinute + " is out of range: use 0 (no cap) or more");
        }
        AppraiserConfig appraisal = AppraiserConfig.defaults().withFleet(fleet).withClockSkewWindow(clockSkew)
                .withAllowEmulated(allowEmulated).withMaxDevices(maxDevices).withNewDevicesPerMinute(newDevicesPerMinute);
        if (registry != null) {
            try {
                DeviceRegistry devices = DeviceRegistry.load(registry);
                if (devices.size() > maxDevices) {
                    throw new UserError("registry " + registry + " lists " + devices.size() + " devices, more than --max-devices "
                            + maxDevices + ": raise --max-devices");
                }
                appraisal = appraisal.withRegistry(devices);
                Logger.info("device registry {}: {} device(s)", registry, devices.size());
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
        } else if (newDevicesPerMinute > 0) {
            Logger.info("no device registry: at most {} new devices a minute are taken on (--new-devices-per-minute),"
                    + " at most {} in all (--max-devices)", newDevicesPerMinute, maxDevices);
        }
        if (allowEmulated) {
            Logger.warn("accepting reports from emulated boards (--allow-emulated): for tests and demos only");
        }
        byte[] challengeSecret = null;
        if (stateDir != null) {
            try {
                KeyPinStore pins = KeyPinStore.open(stateDir.resolve("key-pins"));
                opened.push(pins::close);
                appraisal = appraisal.withKeyPins(pins);
                challengeSecret = ChallengeStore.secretIn(stateDir.resolve(CHALLENGE_SECRET_FILE));
            } catch (RuntimeException e) {
                throw new UserError("cannot use verifier state dir " + stateDir + ": " + e.getMessage()
                        + (e.getMessage() != null && e.getMessage().contains("chmod") ? "" : " (create it and make it writable for the verifier)"));
            }
        }
        // Challenges go out in receipts; without a state dir their secret lives only as long as this process.
        ChallengeStore challenges = challengeSecret != null
                ? new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL, challengeSecret)
                : new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL);
        appraisal = appraisal.withChallenges(challenges, requireNonce);
        DeviceKeys receiptKey = receiptKey();
        Appraiser appraiser = new Appraiser(appraisal);
        Optional<AcceptedLog> accepted = Optional.empty();
        if (stateDir != null) {
            try {
                accepted = Optional.of(AcceptedLog.open(stateDir.resolve(ACCEPTED_LOG), appraiser::restore));
            } catch (AcceptedLog.DamagedException e) {
                throw new UserError(e.getMessage());
            } catch (RuntimeException e) {
                throw new UserError(e.getMessage() + " (check that " + stateDir + " is writable for the verifier)");
            }
            opened.push(accepted.get()::close);
        }
        String id = clientId(fleet, partitions);
        MqttSettings mqtt = security.apply(MqttSettings.of(url, id).withSessionExpiry(sessionExpiry));
        VerifierService service = new VerifierService(fleet, appraiser, receiptKey, partitions, accepted, VerifierService.links(mqtt));
        opened.push(service::close);
        return service;
    }

    private static StateDirLock lock(Path dir) {
        try {
            return StateDirLock.acquire(dir, "verifier state dir");
        } catch (StateDirLock.HeldException e) {
            throw new UserError(e.getMessage(), UserError.UNAVAILABLE, e);
        } catch (IOException e) {
            throw new UserError("cannot use verifier state dir " + dir + ": " + e.getMessage()
                    + " (create it and make it writable for the verifier)");
        }
    }

    /** The key that signs receipts: from --receipt-key-dir, else the state dir, else one for this process. */
    private DeviceKeys receiptKey() {
        Path dir = receiptKeyDir != null ? receiptKeyDir : stateDir != null ? stateDir.resolve(RECEIPT_KEY_DIR) : null;
        if (dir == null) {
            DeviceKeys key = DeviceKeys.generate();
            Logger.warn("receipts are signed by key {}, made for this process only (no --state-dir or --receipt-key-dir):"
                    + " boards cannot trust it across restarts", key.deviceId());
            return key;
        }
        DeviceKeys key;
        try {
            if (Files.exists(dir.resolve(DeviceKeys.PRIVATE_KEY_FILE))) {
                key = DeviceKeys.load(dir);
            } else {
                key = DeviceKeys.generate();
                key.write(dir);
                Logger.info("created the verifier's receipt key in {}", dir);
            }
        } catch (KeyCustodyException e) {
            throw new UserError("receipt key: " + e.getMessage());
        }
        Logger.info("receipts are signed by key {}; boards trust it with --verifier-key {}", key.deviceId(),
                dir.resolve(DeviceKeys.PUBLIC_KEY_FILE).toAbsolutePath());
        return key;
    }

    /** --id, else the one kept in the state dir, else a random one for this process. */
    private String clientId(String fleet, Optional<Partitioning> partitions) {
        if (clientId != null) {
            return clientId;
        }
        String prefix = "prospector-verifier-" + fleet + partitions.map(p -> "-" + p.group() + "-" + p.index()).orElse("");
        if (stateDir == null) {
            return VerifierClientId.random(prefix);
        }
        try {
            return VerifierClientId.loadOrCreate(stateDir.resolve(VerifierClientId.FILE), prefix);
        } catch (IOException e) {
            throw new UserError("cannot use verifier state dir " + stateDir + ": " + e.getMessage());
        }
    }

    private static void closeAll(Deque<AutoCloseable> opened) {
        synchronized (opened) {
            while (!opened.isEmpty()) {
                try {
                    opened.pop().close();
                } catch (Exception e) {
                    Logger.debug("closing: {}", e.toString());
                }
            }
        }
    }

    /** {@code prospector verifier repair}: salvages a damaged accepted log. */
    @Command(name = "repair", mixinStandardHelpOptions = true,
            description = {"Repair the verifier's accepted log after it was found damaged: keep every record that still checks out,",
                "write a new accepted.log from them, and print what was kept and what was dropped. Stop the verifier first."})
    static final class Repair implements Callable<Integer> {
        @ParentCommand
        VerifierCommand parent;

        @Spec
        CommandSpec spec;

        @Option(names = "--state-dir", paramLabel = "DIR", description = "The verifier's state dir (default: the verifier's --state-dir setting).")
        Path stateDir;

        @Override
        public Integer call() {
            Path dir = stateDir != null ? stateDir : parent.stateDir;
            if (dir == null) {
                throw new UserError("no state dir given: pass --state-dir DIR (the verifier's)");
            }
            if (!Files.isDirectory(dir)) {
                throw new UserError("verifier state dir " + dir + " does not exist");
            }
            PrintWriter out = spec.commandLine().getOut();
            try (StateDirLock lock = lock(dir)) {
                AcceptedLog.RepairReport report = AcceptedLog.repair(dir.resolve(ACCEPTED_LOG));
                print(report, out);
                return 0;
            } catch (IOException e) {
                throw new UserError("cannot repair the accepted log in " + dir + ": " + e.getMessage());
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
                        + (s.dropped().isEmpty() ? "" : "; dropped " + s.dropped().stream().map(Object::toString)
                                .reduce((a, b) -> a + ", " + b).orElse("") + " (damaged)")
                        + (s.tornTail() > 0 ? "; cut a torn tail of " + s.tornTail() + " byte(s)" : ""));
            }
            out.println("wrote " + r.file() + ": " + r.kept() + " acceptance(s) of " + r.devices() + " device(s)");
            if (r.droppedBytes() > 0) {
                long estimate = r.averageRecordBytes() > 0 ? Math.round(r.droppedBytes() / r.averageRecordBytes()) : 0;
                out.println(String.format(Locale.ROOT, "dropped %d damaged byte(s), about %d record(s): a report they recorded is"
                        + " accepted again if a device sends it again; the damaged copies are kept as *.salvaged", r.droppedBytes(), estimate));
            }
            out.flush();
        }
    }
}
