package dev.prospector.agent.node;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The challenge loop with a real broker: a board answers the challenge of its last receipt, and a
 * board whose clock is off (here 11 minutes behind, a Pi without a real-time clock before NTP)
 * answers none rather than one the verifier would refuse, so none of its reports is lost to
 * {@code bad-nonce}.
 */
class ChallengeLoopIT {
    @TempDir
    Path dir;

    private VerifierService.DeviceCounts run(Duration skew, String name) {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto-" + name))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Appraiser appraiser = new Appraiser(AppraiserConfig.defaults()
                    .withFleet("ch")
                    .withAllowEmulated(true)
                    .withChallenges(new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL), false));
            try (VerifierService verifier = LocalStack.verifier(url, "ch", appraiser, "verifier-" + name);
                    AgentNode agent = LocalStack.emulatedBoard(
                            url,
                            "ch",
                            dir.resolve(name),
                            Duration.ofMillis(250),
                            Clock.offset(Clock.systemUTC(), skew),
                            verifier)) {
                verifier.connect();
                agent.start();
                await("six appraisals").atMost(Duration.ofSeconds(60)).until(() -> {
                    var c = verifier.counts().get(agent.device());
                    return c != null && c.accepted() + c.rejected() >= 6;
                });
                return verifier.counts().get(agent.device());
            }
        }
    }

    /** Nobody can make the verifier hand a device a challenge for another device, or for a forged report. */
    @Test
    void noChallengeGoesOutForAReportUnderAnotherDevicesTopicOrWithABadSignature() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto-foreign"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Appraiser appraiser = new Appraiser(AppraiserConfig.defaults()
                    .withFleet("ch")
                    .withAllowEmulated(true)
                    .withChallenges(new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL), false));
            try (VerifierService verifier = LocalStack.verifier(url, "ch", appraiser, "verifier-foreign");
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), "ch");
                    MqttLink attacker = new MqttLink(
                            MqttSettings.of(url, "attacker").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (topic, payload) -> {})) {
                verifier.connect();
                attacker.connect();
                var b = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                byte[] reportOfB = b.sign(input()).bytes();
                String a = DeviceKeys.generate().deviceId().value();
                attacker.publish(Topics.report("ch", a), reportOfB, 1, false).get();
                byte[] forged = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory())
                        .sign(input())
                        .bytes();
                String forger = dev.prospector.attest.Report.decode(forged)
                        .claims()
                        .device()
                        .value();
                forged[forged.length - 1] ^= 1; // the signature's last byte: published under its own device's topic
                attacker.publish(Topics.report("ch", forger), forged, 1, false).get();
                await("two receipts")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> receipts.receipts().size() >= 2);
                for (var r : receipts.receipts()) {
                    assertTrue(!r.ok() && r.challenge().isEmpty(), r.toString());
                }
                assertTrue(
                        receipts.receipts().stream()
                                .anyMatch(r ->
                                        r.reason().orElseThrow() == dev.prospector.attest.ReasonCode.BAD_SIGNATURE),
                        () -> "the forged report was refused for its signature: " + receipts.receipts());
            }
        }
    }

    private static ReportInput input() {
        return new ReportInput(
                "ch",
                java.time.Instant.now(),
                1,
                Optional.empty(),
                "boot",
                Duration.ofSeconds(5),
                java.util.List.of(new dev.prospector.attest.MeasurementClaim("uptime", 5, "s", "test")),
                "0.1.0",
                new byte[32]);
    }

    @Test
    void aBoardAnswersTheChallengeOfItsLastReceipt() {
        var c = run(Duration.ZERO, "right");
        assertEquals(0, c.rejected());
        assertTrue(c.answered() >= 3, "answered " + c.answered() + " of " + c.accepted());
    }

    @Test
    void aBoardWhoseClockIsFarBehindAnswersNoneAndLosesNoReport() {
        var c = run(Duration.ofMinutes(-11), "behind");
        assertEquals(0, c.rejected(), "no report refused");
        assertEquals(0, c.answered(), "a challenge it would answer outside its lifetime is not used");
    }
}
