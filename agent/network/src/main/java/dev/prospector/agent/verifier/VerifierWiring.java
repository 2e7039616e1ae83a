package dev.prospector.agent.verifier;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.measure.MeasureEndpoint;
import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.DeviceRegistry;
import dev.prospector.attest.KeyCustodyException;
import dev.prospector.attest.KeyPinStore;
import dev.prospector.attest.Limits;
import dev.prospector.attest.ReceiptBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.tinylog.Logger;

/**
 * The one place where a verifier is put together: `prospector verifier`, the demo and the
 * benchmarks all call {@link #open}. In order: the state dir's lock (before anything in it is
 * read), the appraisal settings (registry, bounds on devices, emulated evidence), the key pins and
 * the challenge secret, the receipt key, the accepted log (replayed into the appraiser), the
 * measurement endpoint (--measure-port), the proofs of service (reward key, rewards.log, pos.state),
 * the client id, and the service itself. What was opened is closed together, last first, by
 * {@link Verifier#close()}, also when a later step fails.
 */
public final class VerifierWiring {
    /** The challenge secret's file in the state dir: give every verifier of a Kafka group the same one. */
    public static final String CHALLENGE_SECRET_FILE = "challenge.key";
    /** The receipt key's directory in the state dir (device.key, device.pub). */
    public static final String RECEIPT_KEY_DIR = "receipt-key";
    /** The accepted log's file in the state dir. */
    public static final String ACCEPTED_LOG = "accepted.log";
    /** The key of the measurement endpoint of --measure-port, in the state dir. */
    public static final String MEASURE_KEY_DIR = "measure-key";

    private VerifierWiring() {}

    /**
     * How to run a verifier. Validated on construction; each message names the option.
     *
     * @param stateDir durable state (lock, accepted log, key pins, challenge secret, receipt key,
     *     client id); empty: in memory, for this process only
     * @param receiptKeyDir where the receipt key is, when not in the state dir
     * @param clientId the MQTT client id; empty: the one kept in the state dir, else a random one
     */
    public record Settings(
            BrokerUrl broker,
            String fleet,
            Optional<Path> stateDir,
            Optional<Path> receiptKeyDir,
            Duration clockSkew,
            Optional<Path> registry,
            boolean requireNonce,
            boolean allowEmulated,
            int maxDevices,
            int newDevicesPerMinute,
            Optional<String> clientId,
            Duration sessionExpiry,
            ServiceSettings proofs,
            int receiptBatch) {
        public Settings {
            if (receiptBatch < 1 || receiptBatch > ReceiptBatch.MAX_LEAVES) {
                throw new Failure("--receipt-batch " + receiptBatch + " is out of range: use 1 (each receipt signed"
                        + " alone) to " + ReceiptBatch.MAX_LEAVES);
            }
            if (maxDevices < 1) {
                throw new Failure("--max-devices " + maxDevices + " is out of range: use 1 or more");
            }
            if (newDevicesPerMinute < 0) {
                throw new Failure(
                        "--new-devices-per-minute " + newDevicesPerMinute + " is out of range: use 0 (no cap) or more");
            }
        }

        /**
         * Settings with the default proof-of-service settings and up to {@link
         * VerifierService#DEFAULT_RECEIPT_BATCH} receipts under one signature.
         */
        public Settings(
                BrokerUrl broker,
                String fleet,
                Optional<Path> stateDir,
                Optional<Path> receiptKeyDir,
                Duration clockSkew,
                Optional<Path> registry,
                boolean requireNonce,
                boolean allowEmulated,
                int maxDevices,
                int newDevicesPerMinute,
                Optional<String> clientId,
                Duration sessionExpiry) {
            this(
                    broker,
                    fleet,
                    stateDir,
                    receiptKeyDir,
                    clockSkew,
                    registry,
                    requireNonce,
                    allowEmulated,
                    maxDevices,
                    newDevicesPerMinute,
                    clientId,
                    sessionExpiry,
                    ServiceSettings.defaults(),
                    VerifierService.DEFAULT_RECEIPT_BATCH);
        }

        /** A lone verifier of {@code fleet} with the defaults of `prospector verifier`, in memory, with a clean session. */
        public static Settings inMemory(BrokerUrl broker, String fleet) {
            return new Settings(
                    broker,
                    fleet,
                    Optional.empty(),
                    Optional.empty(),
                    Limits.CLOCK_SKEW_WINDOW,
                    Optional.empty(),
                    false,
                    false,
                    AppraiserConfig.DEFAULT_MAX_DEVICES,
                    AppraiserConfig.DEFAULT_NEW_DEVICES_PER_MINUTE,
                    Optional.empty(),
                    Duration.ZERO);
        }

        public Settings withAllowEmulated(boolean allow) {
            return new Settings(
                    broker,
                    fleet,
                    stateDir,
                    receiptKeyDir,
                    clockSkew,
                    registry,
                    requireNonce,
                    allow,
                    maxDevices,
                    newDevicesPerMinute,
                    clientId,
                    sessionExpiry,
                    proofs,
                    receiptBatch);
        }

        public Settings withClientId(String id) {
            return new Settings(
                    broker,
                    fleet,
                    stateDir,
                    receiptKeyDir,
                    clockSkew,
                    registry,
                    requireNonce,
                    allowEmulated,
                    maxDevices,
                    newDevicesPerMinute,
                    Optional.of(id),
                    sessionExpiry,
                    proofs,
                    receiptBatch);
        }

        /** These settings with {@code p} for proofs of service. */
        public Settings withProofs(ServiceSettings p) {
            return new Settings(
                    broker,
                    fleet,
                    stateDir,
                    receiptKeyDir,
                    clockSkew,
                    registry,
                    requireNonce,
                    allowEmulated,
                    maxDevices,
                    newDevicesPerMinute,
                    clientId,
                    sessionExpiry,
                    p,
                    receiptBatch);
        }

        public Settings withReceiptKeyDir(Path dir) {
            return new Settings(
                    broker,
                    fleet,
                    stateDir,
                    Optional.of(dir),
                    clockSkew,
                    registry,
                    requireNonce,
                    allowEmulated,
                    maxDevices,
                    newDevicesPerMinute,
                    clientId,
                    sessionExpiry,
                    proofs,
                    receiptBatch);
        }
    }

    /** An assembled verifier: its service, its appraiser and receipt key, and what it opened. */
    public static final class Verifier implements AutoCloseable {
        private final VerifierService service;
        private final Appraiser appraiser;
        private final DeviceKeys receiptKey;
        private final Optional<Path> receiptPublicKeyFile;
        private final ProofOfService proofs;
        private final Optional<MeasureEndpoint> endpoint;
        private final Deque<AutoCloseable> opened;

        private Verifier(
                VerifierService service,
                Appraiser appraiser,
                DeviceKeys receiptKey,
                Optional<Path> receiptPublicKeyFile,
                ProofOfService proofs,
                Optional<MeasureEndpoint> endpoint,
                Deque<AutoCloseable> opened) {
            this.service = service;
            this.appraiser = appraiser;
            this.receiptKey = receiptKey;
            this.receiptPublicKeyFile = receiptPublicKeyFile;
            this.proofs = proofs;
            this.endpoint = endpoint;
            this.opened = opened;
        }

        /** The judge of proofs of service: scores, rewards. */
        public ProofOfService proofs() {
            return proofs;
        }

        /** The measurement endpoint of --measure-port, if one runs here. */
        public Optional<MeasureEndpoint> measureEndpoint() {
            return endpoint;
        }

        public VerifierService service() {
            return service;
        }

        public Appraiser appraiser() {
            return appraiser;
        }

        /** The raw public key that verifies this verifier's receipts. */
        public byte[] receiptPublicKey() {
            return receiptKey.publicKey();
        }

        /** The PEM file of the receipt key's public half, which boards trust with --verifier-key; empty for a key of this process only. */
        public Optional<Path> receiptPublicKeyFile() {
            return receiptPublicKeyFile;
        }

        /** Closes the service, flushes the accepted log, closes the key pins and releases the state dir. Idempotent. */
        @Override
        public void close() {
            closeAll(opened);
        }
    }

    /**
     * The appraisal settings of {@code s} that do not live in a state dir: clock, fleet, skew
     * window, emulated boards, bounds on devices and the device registry. For the Kafka verifier,
     * whose chain state and key pins come from Kafka instead.
     */
    public static AppraiserConfig appraisal(Settings s, Clock clock) {
        AppraiserConfig appraisal = AppraiserConfig.defaults()
                .withClock(clock)
                .withFleet(s.fleet())
                .withClockSkewWindow(s.clockSkew())
                .withAllowEmulated(s.allowEmulated())
                .withMaxDevices(s.maxDevices())
                .withNewDevicesPerMinute(s.newDevicesPerMinute());
        if (s.registry().isPresent()) {
            try {
                appraisal =
                        appraisal.withRegistry(DeviceRegistry.load(s.registry().get()));
            } catch (IllegalArgumentException e) {
                throw new Failure(e.getMessage());
            }
        }
        return appraisal;
    }

    /**
     * The challenge secret kept in {@code stateDir} (made there on first start, mode 0600). Every
     * verifier of a Kafka group must hold the same file: a challenge issued by one is answered in a report
     * that another may appraise.
     */
    public static byte[] challengeSecret(Path stateDir) {
        try {
            return ChallengeStore.secretIn(stateDir.resolve(CHALLENGE_SECRET_FILE));
        } catch (RuntimeException e) {
            throw new Failure("cannot use the challenge secret in " + stateDir + ": " + e.getMessage()
                    + " (create the dir and make it writable for the verifier)");
        }
    }

    /** The receipt key kept in {@code dir} (made there on first start), else one for this process. */
    public static DeviceKeys receiptKeyIn(Optional<Path> dir) {
        return receiptKey(dir);
    }

    /** Assembles a verifier; nothing connects until {@code service().start()} or {@code connect()}. */
    public static Verifier open(Settings s, UnaryOperator<MqttSettings> security, Clock clock) {
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        try {
            if (s.stateDir().isPresent()) {
                opened.push(lock(s.stateDir().get()));
            }
            AppraiserConfig appraisal = AppraiserConfig.defaults()
                    .withClock(clock)
                    .withFleet(s.fleet())
                    .withClockSkewWindow(s.clockSkew())
                    .withAllowEmulated(s.allowEmulated())
                    .withMaxDevices(s.maxDevices())
                    .withNewDevicesPerMinute(s.newDevicesPerMinute());
            if (s.registry().isPresent()) {
                Path registry = s.registry().get();
                try {
                    DeviceRegistry devices = DeviceRegistry.load(registry);
                    if (devices.size() > s.maxDevices()) {
                        throw new Failure("registry " + registry + " lists " + devices.size()
                                + " devices, more than --max-devices " + s.maxDevices() + ": raise --max-devices");
                    }
                    appraisal = appraisal.withRegistry(devices);
                    Logger.info("device registry {}: {} device(s)", registry, devices.size());
                } catch (IllegalArgumentException e) {
                    throw new Failure(e.getMessage());
                }
            } else if (s.newDevicesPerMinute() > 0) {
                Logger.info(
                        "no device registry: at most {} new devices a minute are taken on (--new-devices-per-minute),"
                                + " at most {} in all (--max-devices)",
                        s.newDevicesPerMinute(),
                        s.maxDevices());
            }
            if (s.allowEmulated()) {
                Logger.warn("accepting reports from emulated boards (--allow-emulated): for tests and demos only");
            }
            byte[] challengeSecret = null;
            if (s.stateDir().isPresent()) {
                Path stateDir = s.stateDir().get();
                try {
                    KeyPinStore pins = KeyPinStore.open(stateDir.resolve("key-pins"));
                    opened.push(pins::close);
                    appraisal = appraisal.withKeyPins(pins);
                    challengeSecret = ChallengeStore.secretIn(stateDir.resolve(CHALLENGE_SECRET_FILE));
                } catch (RuntimeException e) {
                    throw new Failure("cannot use verifier state dir " + stateDir + ": " + e.getMessage()
                            + (e.getMessage() != null && e.getMessage().contains("chmod")
                                    ? ""
                                    : " (create it and make it writable for the verifier)"));
                }
            }
            // Challenges go out in receipts; without a state dir their secret lives only as long as this process.
            ChallengeStore challenges = challengeSecret != null
                    ? new ChallengeStore(clock, Limits.CHALLENGE_TTL, challengeSecret)
                    : new ChallengeStore(clock, Limits.CHALLENGE_TTL);
            appraisal = appraisal.withChallenges(challenges, s.requireNonce());
            Optional<Path> keyDir = s.receiptKeyDir().or(() -> s.stateDir().map(d -> d.resolve(RECEIPT_KEY_DIR)));
            DeviceKeys receiptKey = receiptKey(keyDir);
            Appraiser appraiser = new Appraiser(appraisal);
            Optional<AcceptedLog> accepted = Optional.empty();
            if (s.stateDir().isPresent()) {
                Path stateDir = s.stateDir().get();
                try {
                    accepted = Optional.of(AcceptedLog.open(stateDir.resolve(ACCEPTED_LOG), appraiser::restore));
                } catch (AcceptedLog.DamagedException e) {
                    throw new Failure(e.getMessage());
                } catch (RuntimeException e) {
                    throw new Failure(e.getMessage() + " (check that " + stateDir + " is writable for the verifier)");
                }
                opened.push(accepted.get()::close);
            }
            Optional<MeasureEndpoint> endpoint = measureEndpoint(s, clock);
            endpoint.ifPresent(e -> opened.push(e::close));
            ProofOfService proofs = proofs(s, clock, challenges, endpoint);
            String id = clientId(s);
            MqttSettings mqtt = security.apply(MqttSettings.of(s.broker(), id).withSessionExpiry(s.sessionExpiry()));
            VerifierService service = new VerifierService(
                    s.fleet(),
                    appraiser,
                    receiptKey,
                    accepted,
                    Optional.of(proofs),
                    VerifierService.defaultWorkers(),
                    s.receiptBatch(),
                    VerifierService.links(mqtt));
            opened.push(service::close); // closes the proofs of service too (a last save)
            proofs.start();
            return new Verifier(
                    service,
                    appraiser,
                    receiptKey,
                    keyDir.map(d -> d.resolve(DeviceKeys.PUBLIC_KEY_FILE)),
                    proofs,
                    endpoint,
                    opened);
        } catch (RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    /** The measurement endpoint of {@code --measure-port}, with its key in the state dir (else one for this process). */
    private static Optional<MeasureEndpoint> measureEndpoint(Settings s, Clock clock) {
        ServiceSettings p = s.proofs();
        if (p.measurePort() == 0) {
            return Optional.empty();
        }
        DeviceKeys key = key(s.stateDir().map(d -> d.resolve(MEASURE_KEY_DIR)), "measurement endpoint");
        try {
            return Optional.of(MeasureEndpoint.start(
                    MeasureEndpoint.Settings.of(p.measureBind(), p.measurePort())
                            .withMaxBytes(p.measureMaxBytes()),
                    key,
                    clock,
                    System::nanoTime));
        } catch (IOException | RuntimeException e) {
            throw new Failure(
                    "cannot listen on " + p.measureBind() + ":" + p.measurePort() + " for --measure-port: "
                            + e.getMessage() + " (pick a free port, or 0 for no endpoint)",
                    Failure.Kind.UNAVAILABLE,
                    e);
        }
    }

    /** The judge of proofs of service: reward key and log, state file, trusted endpoints. */
    private static ProofOfService proofs(
            Settings s, Clock clock, ChallengeStore challenges, Optional<MeasureEndpoint> endpoint) {
        java.util.List<byte[]> trusted = new java.util.ArrayList<>(s.proofs().trustedEndpoints());
        endpoint.ifPresent(e -> trusted.add(e.publicKey()));
        DeviceKeys rewardKey = key(s.stateDir().map(d -> d.resolve(ProofOfService.REWARD_KEY_DIR)), "reward");
        RewardIssuer rewards;
        Optional<Path> stateFile = s.stateDir().map(d -> d.resolve(ProofOfService.STATE_FILE));
        if (s.stateDir().isPresent()) {
            rewards = RewardIssuer.open(rewardKey, s.stateDir().get().resolve(ProofOfService.REWARDS_LOG));
        } else {
            rewards = RewardIssuer.inMemory(rewardKey);
            Logger.warn("proofs of service are kept in memory only (no --state-dir): reputations and rewards"
                    + " start afresh at every start");
        }
        ProofOfService proofs = ProofOfService.open(s.proofs(), clock, challenges.ttl(), trusted, rewards, stateFile);
        Logger.info(
                "proofs of service: audits every {}, bandwidth tests every {} ({} trusted endpoint(s)), epochs of {};"
                        + " rewards signed by key {} (ledger address {})",
                s.proofs().auditEvery(),
                s.proofs().bandwidthEvery(),
                trusted.size(),
                s.proofs().epoch(),
                rewardKey.deviceId(),
                rewards.address().hex());
        return proofs;
    }

    /** A key kept in {@code dir} (made there on first start), else one for this process only. */
    private static DeviceKeys key(Optional<Path> dir, String what) {
        if (dir.isEmpty()) {
            DeviceKeys key = DeviceKeys.generate();
            Logger.warn("the {} key {} is made for this process only (no --state-dir)", what, key.deviceId());
            return key;
        }
        try {
            return DeviceKeys.loadOrCreate(dir.get());
        } catch (KeyCustodyException e) {
            throw new Failure(what + " key: " + e.getMessage());
        }
    }

    /** Locks a verifier state dir for this process, as `prospector verifier` and `verifier repair` do. */
    public static StateDirLock lock(Path dir) {
        try {
            return StateDirLock.acquire(dir, "verifier state dir");
        } catch (StateDirLock.HeldException e) {
            throw new Failure(e.getMessage(), Failure.Kind.UNAVAILABLE, e);
        } catch (IOException e) {
            throw new Failure("cannot use verifier state dir " + dir + ": " + e.getMessage()
                    + " (create it and make it writable for the verifier)");
        }
    }

    /** The key that signs receipts: kept in {@code dir}, else one for this process. */
    private static DeviceKeys receiptKey(Optional<Path> dir) {
        if (dir.isEmpty()) {
            DeviceKeys key = DeviceKeys.generate();
            Logger.warn(
                    "receipts are signed by key {}, made for this process only (no --state-dir or --receipt-key-dir):"
                            + " boards cannot trust it across restarts",
                    key.deviceId());
            return key;
        }
        Path d = dir.get();
        DeviceKeys key;
        try {
            if (Files.exists(d.resolve(DeviceKeys.PRIVATE_KEY_FILE))) {
                key = DeviceKeys.load(d);
            } else {
                key = DeviceKeys.generate();
                key.write(d);
                Logger.info("created the verifier's receipt key in {}", d);
            }
        } catch (KeyCustodyException e) {
            throw new Failure("receipt key: " + e.getMessage());
        }
        Logger.info(
                "receipts are signed by key {}; boards trust it with --verifier-key {}",
                key.deviceId(),
                d.resolve(DeviceKeys.PUBLIC_KEY_FILE).toAbsolutePath());
        return key;
    }

    /** The given client id, else the one kept in the state dir, else a random one for this process. */
    private static String clientId(Settings s) {
        if (s.clientId().isPresent()) {
            return s.clientId().get();
        }
        String prefix = "prospector-verifier-" + s.fleet();
        if (s.stateDir().isEmpty()) {
            return VerifierClientId.random(prefix);
        }
        try {
            return VerifierClientId.loadOrCreate(s.stateDir().get().resolve(VerifierClientId.FILE), prefix);
        } catch (IOException e) {
            throw new Failure("cannot use verifier state dir " + s.stateDir().get() + ": " + e.getMessage());
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
}
