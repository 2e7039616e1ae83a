package dev.prospector.agent.verifier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.measure.MeasureEndpoint;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.ServiceEvidence;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A verifier put together by {@link VerifierWiring} with a measurement endpoint of its own, over a
 * real Mosquitto: its receipt asks a bandwidth test, the board runs it against the endpoint, and the
 * next receipt says the test counted.
 */
class ProofOfServiceOverMqttIT {
    private static final String FLEET = "pos";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private static ReportInput input(long seq, Optional<byte[]> nonce, ServiceEvidence ev) {
        return new ReportInput(
                        FLEET,
                        Instant.now().truncatedTo(ChronoUnit.MILLIS),
                        seq,
                        nonce,
                        "boot",
                        Duration.ofSeconds(60 + seq),
                        List.of(),
                        "1.0",
                        new byte[32],
                        0,
                        false)
                .withService(Optional.of(ev));
    }

    @Test
    void aReceiptAsksABandwidthTestAndTheNextSaysItCounted() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            var settings = VerifierWiring.Settings.inMemory(BrokerUrl.parse(broker.url()), FLEET)
                    .withProofs(ServiceSettings.defaults().withMeasurePort(port, "127.0.0.1"));
            try (VerifierWiring.Verifier verifier = VerifierWiring.open(settings, m -> m, Clock.systemUTC());
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET, verifier.receiptPublicKey());
                    MqttLink board = new MqttLink(
                            MqttSettings.of(BrokerUrl.parse(broker.url()), "board-" + System.nanoTime())
                                    .withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (t, p) -> {})) {
                verifier.service().connect();
                board.connect();
                MeasureEndpoint endpoint = verifier.measureEndpoint().orElseThrow();
                ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                String topic = Topics.report(FLEET, device.keys().deviceId().value());
                board.publish(
                                topic,
                                device.sign(input(1, Optional.empty(), ServiceEvidence.run(5)))
                                        .bytes(),
                                1,
                                false)
                        .get();
                await("the first receipt")
                        .atMost(WAIT)
                        .until(() -> receipts.receipts().size() == 1);
                Receipt.Challenge asked = receipts.receipts().get(0).challenge().orElseThrow();
                assertTrue(asked.bandwidthTest(), "a trusted endpoint runs here: a test is asked");
                assertEquals(0, asked.auditLeaves(), "no plot, no audit");

                // The board's side of the test: download, digest, upload, ping.
                String q = "dev=" + device.keys().deviceId().value() + "&nonce="
                        + HexFormat.of().formatHex(asked.nonce());
                HttpClient http = HttpClient.newHttpClient();
                List<byte[]> signed = new ArrayList<>();
                var down = http.send(
                        HttpRequest.newBuilder(URI.create(endpoint.url() + "/v1/down?" + q + "&bytes=262144"))
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                String session = down.headers()
                        .firstValue(MeasureEndpoint.SESSION_HEADER)
                        .orElseThrow();
                signed.add(http.send(
                                HttpRequest.newBuilder(URI.create(endpoint.url() + "/v1/down/" + session))
                                        .POST(HttpRequest.BodyPublishers.ofByteArray(
                                                MessageDigest.getInstance("SHA-256")
                                                        .digest(down.body())))
                                        .build(),
                                HttpResponse.BodyHandlers.ofByteArray())
                        .body());
                signed.add(http.send(
                                HttpRequest.newBuilder(URI.create(endpoint.url() + "/v1/up?" + q))
                                        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[262144]))
                                        .build(),
                                HttpResponse.BodyHandlers.ofByteArray())
                        .body());
                board.publish(
                                topic,
                                device.sign(input(
                                                2,
                                                Optional.of(asked.nonce()),
                                                ServiceEvidence.run(5).withBandwidth(signed)))
                                        .bytes(),
                                1,
                                false)
                        .get();
                await("the second receipt")
                        .atMost(WAIT)
                        .until(() -> receipts.receipts().size() == 2);
                Receipt second = receipts.receipts().get(1);
                String pos = second.service().orElseThrow();
                assertTrue(pos.contains("bandwidth: test counted from 2 receipt(s)"), pos);
                assertTrue(second.disqualified().isEmpty());
                var score =
                        verifier.service().scores().get(device.keys().deviceId().value());
                assertEquals(1, score.bandwidthSamples());
                assertTrue(score.downMbps().orElseThrow() > 0);
                System.out.println("over MQTT: " + pos);
            }
        }
    }
}
