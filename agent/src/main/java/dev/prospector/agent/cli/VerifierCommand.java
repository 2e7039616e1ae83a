package dev.prospector.agent.cli;

import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceRegistry;
import dev.prospector.attest.KeyPinStore;
import dev.prospector.attest.Limits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.io.PrintWriter;
import dev.prospector.agent.verifier.AcceptedLog;
import dev.prospector.agent.verifier.Partitioning;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "verifier", mixinStandardHelpOptions = true,
        description = {"Run the network side's verifier for a fleet.",
            "Appraises every report, logs one line per outcome, and sends each device a receipt."})
public final class VerifierCommand implements Callable<Integer> {
    /** The challenge secret's file in the state dir: give every verifier of a group the same one. */
    static final String CHALLENGE_SECRET_FILE = "challenge.key";

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
            description = "MQTT client id; the broker keeps its session (and queues reports) while it is away. Default: prospector-verifier-FLEET[-GROUP-I].")
    String clientId;

    @Option(names = "--session-expiry", defaultValue = "1d", converter = DurationConverter.class,
            description = "How long the broker queues reports for this verifier while it is away (default: ${DEFAULT-VALUE}; 0s for none).")
    Duration sessionExpiry;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Keep the verifier's state here: what it accepted (accepted.log), each device's pinned key (key-pins) and the challenge secret (challenge.key, mode 0600), so that after a restart duplicates, replays, rotated-away keys and the challenges it issued are still recognised.")
    Path stateDir;

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

    @Override
    public Integer call() throws InterruptedException {
        String fleet = connection.fleet();
        BrokerUrl url = connection.broker();
        AppraiserConfig appraisal = AppraiserConfig.defaults().withFleet(fleet).withClockSkewWindow(clockSkew);
        if (registry != null) {
            try {
                DeviceRegistry devices = DeviceRegistry.load(registry);
                appraisal = appraisal.withRegistry(devices);
                Logger.info("device registry {}: {} device(s)", registry, devices.size());
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
        }
        byte[] challengeSecret = null;
        if (stateDir != null) {
            try {
                Files.createDirectories(stateDir);
                appraisal = appraisal.withKeyPins(KeyPinStore.open(stateDir.resolve("key-pins")));
                challengeSecret = ChallengeStore.secretIn(stateDir.resolve(CHALLENGE_SECRET_FILE));
            } catch (IOException | RuntimeException e) {
                throw new UserError("cannot use verifier state dir " + stateDir + ": " + e.getMessage()
                        + (e.getMessage() != null && e.getMessage().contains("chmod") ? "" : " (create it and make it writable for the verifier)"));
            }
        }
        // Challenges go out in receipts; without a state dir their secret lives only as long as this process.
        ChallengeStore challenges = challengeSecret != null
                ? new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL, challengeSecret)
                : new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL);
        appraisal = appraisal.withChallenges(challenges, requireNonce);
        Appraiser appraiser = new Appraiser(appraisal);
        Optional<AcceptedLog> accepted = Optional.empty();
        if (stateDir != null) {
            try {
                accepted = Optional.of(AcceptedLog.open(stateDir.resolve("accepted.log"), appraiser::restore));
            } catch (RuntimeException e) {
                throw new UserError(e.getMessage() + " (check that " + stateDir + " is writable for the verifier)");
            }
        }
        Optional<Partitioning> partitions;
        try {
            partitions = group == null ? Optional.empty() : Optional.of(Partitioning.parse(group, partition));
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        String id = clientId != null ? clientId : "prospector-verifier-" + fleet
                + partitions.map(p -> "-" + p.group() + "-" + p.index()).orElse("");
        MqttSettings mqtt = security.apply(MqttSettings.of(url, id).withSessionExpiry(sessionExpiry));
        VerifierService service = new VerifierService(fleet, appraiser, partitions, accepted,
                listener -> new MqttLink(mqtt, Optional.empty(), listener));
        if (json) {
            PrintWriter out = spec.commandLine().getOut();
            service.observe((device, outcome) -> {
                synchronized (out) {
                    out.println(VerifierService.outcomeJson(device, outcome).ToJSONString());
                    out.flush();
                }
            });
        }
        service.connect();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.close();
            stopped.countDown();
        }, "shutdown"));
        Logger.info("verifier for fleet {} connected to {}{}", fleet, url,
                partitions.map(p -> " (group " + p.group() + ", partition " + p.index() + " of " + p.count() + ")").orElse(""));
        stopped.await();
        return 0;
    }
}
