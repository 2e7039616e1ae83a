package dev.prospector.kafka;

import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.KafkaMode;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierClientId;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;

/**
 * {@code prospector verifier --kafka}: puts a {@link KafkaVerifier} together from the verifier's
 * settings. The challenge secret is the state dir's {@code challenge.key}, as for the MQTT
 * verifier: every verifier of the group must hold the same file (docs/NETWORK.md says how to
 * hand it out); the receipt key is the state dir's (or {@code --receipt-key-dir}). Key pins and
 * chain state come from Kafka's chain topic, proofs of service from its service topic, not the state
 * dir; rewards due go to its rewards topic.
 */
public final class KafkaVerifierMode implements KafkaMode {
    @Override
    public int verifier(VerifierRequest r) throws InterruptedException {
        VerifierWiring.Settings s = r.settings();
        Clock clock = Clock.systemUTC();
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        try {
            if (s.stateDir().isPresent()) {
                opened.push(VerifierWiring.lock(s.stateDir().get()));
            }
            ChallengeStore challenges;
            if (s.stateDir().isPresent()) {
                challenges = new ChallengeStore(
                        clock,
                        Limits.CHALLENGE_TTL,
                        VerifierWiring.challengeSecret(s.stateDir().get()));
            } else {
                Logger.warn("no --state-dir: the challenge secret is this process's own, so challenges it issues are"
                        + " refused by the other verifiers of the group");
                challenges = new ChallengeStore(clock, Limits.CHALLENGE_TTL);
            }
            AppraiserConfig config = VerifierWiring.appraisal(s, clock).withChallenges(challenges, s.requireNonce());
            DeviceKeys receiptKey = VerifierWiring.receiptKeyIn(s.receiptKeyDir()
                    .or(() -> s.stateDir().map(d -> d.resolve(VerifierWiring.RECEIPT_KEY_DIR))));
            String id = verifierId(s, r.group());
            int partitions = KafkaTopics.ensure(r.kafka(), s.fleet(), r.partitions(), r.replication());
            MqttLink receipts = new MqttLink(
                    r.security().apply(MqttSettings.of(s.broker(), id + "-receipts")),
                    Optional.empty(),
                    (topic, payload) -> {});
            opened.push(receipts);
            receipts.start();
            KafkaVerifier verifier = new KafkaVerifier(
                    s.fleet(),
                    r.kafka(),
                    r.group(),
                    id,
                    () -> new Appraiser(config),
                    receiptKey,
                    Optional.of(receipts),
                    VerifierService.defaultWorkers(),
                    Optional.of(KafkaVerifier.judges(s.proofs(), s.proofs().trustedEndpoints())));
            opened.push(verifier);
            if (r.json().isPresent()) {
                PrintWriter out = r.json().get();
                verifier.observe((device, outcome) -> {
                    synchronized (out) {
                        out.println(JsonOutput.of(VerifierService.outcomeJson(device, outcome)));
                        out.flush();
                    }
                });
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(
                            () -> {
                                Logger.info("stopping");
                                closeAll(opened);
                                stopped.countDown();
                            },
                            "shutdown"));
            verifier.start();
            Logger.info(
                    "proofs of service: audits every {}, bandwidth tests every {} ({} trusted endpoint(s)), epochs of {};"
                            + " rewards due on Kafka topic {}",
                    s.proofs().auditEvery(),
                    s.proofs().bandwidthEvery(),
                    s.proofs().trustedEndpoints().size(),
                    s.proofs().epoch(),
                    KafkaTopics.rewards(s.fleet()));
            Logger.info(
                    "verifier {} of group {} for fleet {} started: reports from Kafka {} ({} partitions), receipts over {}",
                    id,
                    r.group(),
                    s.fleet(),
                    r.kafka(),
                    partitions,
                    s.broker());
            stopped.await();
            return 0;
        } catch (RuntimeException | InterruptedException e) {
            closeAll(opened);
            throw e;
        }
    }

    /** --id, else the state dir's client id, else a random one for this process. */
    private static String verifierId(VerifierWiring.Settings s, String group) {
        if (s.clientId().isPresent()) {
            return s.clientId().get();
        }
        String prefix = "kafka-" + group;
        if (s.stateDir().isEmpty()) {
            return VerifierClientId.random(prefix);
        }
        try {
            return VerifierClientId.loadOrCreate(s.stateDir().get().resolve(VerifierClientId.FILE), prefix);
        } catch (IOException e) {
            throw new dev.prospector.agent.common.Failure(
                    "cannot use verifier state dir " + s.stateDir().get() + ": " + e.getMessage());
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
