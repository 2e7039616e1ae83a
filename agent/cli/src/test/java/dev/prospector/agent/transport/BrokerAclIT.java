package dev.prospector.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.TestCertificates;
import dev.prospector.attest.DeviceKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker configuration and ACL file of docs/SECURITY.md, read from that page, on a real
 * Mosquitto with mutual TLS: each certificate (CN = MQTT user name) reaches only its own topics.
 * Real MQTT 5 clients (Paho) show that board A is refused (PUBACK 0x87) on board B's topics and on
 * every receipt topic, that nothing refused or foreign arrives anywhere, that A's report reaches
 * the verifier and the verifier's receipt reaches A, and that A's certificate cannot take B's
 * client id.
 *
 * <p>No sleeps: to show that a message did not arrive, an allowed marker is sent after it and the
 * test waits for the marker. Mosquitto handles one packet at a time and queues messages for each
 * subscriber in that order; it answers a refused publish only after it has dropped it, and every
 * marker is published after that answer, so anything the refused publish could have delivered
 * would be queued ahead of the marker.
 */
class BrokerAclIT {
    static final Path SECURITY = Path.of("..", "..", "docs", "SECURITY.md");
    static final String FLEET = "alpha";
    static final String ROOT = "prospector/v1/" + FLEET + "/";
    static final int NOT_AUTHORIZED = 0x87;
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private int tried;
    private int refused;
    private int delivered;

    @Test
    void eachCertificateReachesOnlyItsOwnTopics() throws Exception {
        String page = Files.readString(SECURITY, StandardCharsets.UTF_8);
        TestCertificates certs = TestCertificates.generate(dir.resolve("pki"));
        Path acl = dir.resolve("prospector.acl");
        Files.writeString(acl, fencedBlock(page, "# /etc/mosquitto/prospector.acl"));
        String config = brokerConfig(fencedBlock(page, "# /etc/mosquitto/conf.d/prospector.conf"), certs, acl);

        String a = DeviceKeys.generate().deviceId().value();
        String b = DeviceKeys.generate().deviceId().value();
        System.out.println("broker ACL test (docs/SECURITY.md configuration and ACL, Mosquitto, mutual TLS):");
        say("board A = " + a + ", board B = " + b + ", fleet " + FLEET);

        TestCertificates.ClientCertificate certA = certs.issueClient(a);
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"), config);
                Client verifier =
                        new Client("verifier-1", certs, certs.issueClient("verifier-1"), broker, "verifier-1-session");
                Client operator =
                        new Client("operator", certs, certs.issueClient("operator"), broker, "operator-session");
                Client ledger =
                        new Client("ledger-1", certs, certs.issueClient("ledger-1"), broker, "ledger-1-session");
                Client boardB = new Client("board B", certs, certs.issueClient(b), broker, b);
                Client boardA = new Client("board A", certs, certA, broker, a)) {
            verifier.subscribe(ROOT + "+/report");
            operator.subscribe(ROOT + "+/state", ROOT + "+/cmd/result");
            ledger.subscribe(ROOT + "ledger/+/attest/+");
            boardB.subscribe(ROOT + b + "/receipt", ROOT + b + "/cmd", ROOT + "ledger/+/block");
            boardA.subscribe(ROOT + a + "/receipt", ROOT + a + "/cmd", ROOT + "ledger/+/block");
            // A also tries to read B's receipts and everything else: Mosquitto grants these
            // subscriptions and filters every message by the ACL.
            boardA.subscribe(ROOT + b + "/receipt", ROOT + "+/receipt", "#");

            // What is allowed arrives.
            String bState = "{\"online\":true,\"device\":\"" + b + "\"}";
            allowed(boardB, ROOT + b + "/state", bState, true, operator);
            allowed(boardA, ROOT + a + "/report", "report of A, seq 1", false, verifier);
            allowed(verifier, ROOT + a + "/receipt", "receipt for A, seq 1", false, boardA);
            allowed(verifier, ROOT + b + "/receipt", "receipt for B, seq 1", false, boardB);

            // What A may not publish is refused, each with PUBACK 0x87.
            List<String> forbidden = List.of(
                    ROOT + b + "/report",
                    ROOT + b + "/state",
                    ROOT + b + "/receipt",
                    ROOT + a + "/receipt",
                    ROOT + b + "/cmd",
                    ROOT + b + "/cmd/result",
                    ROOT + "ledger/0/block",
                    ROOT + "ledger/0/attest/" + b,
                    ROOT + "verifiers/g/0/" + a);
            for (String topic : forbidden) {
                refusedFor(boardA, topic, "forged by A on " + topic, topic.endsWith("/state"));
            }

            // Markers behind the refused messages, to every client that could have seen one.
            allowed(boardA, ROOT + a + "/report", "marker: report of A, seq 2", false, verifier);
            allowed(boardA, ROOT + a + "/state", "marker: state of A", true, operator);
            allowed(boardA, ROOT + a + "/cmd/result", "marker: cmd result of A", false, operator);
            allowed(boardA, ROOT + "ledger/0/attest/" + a, "marker: attestation of A", false, ledger);
            allowed(verifier, ROOT + b + "/receipt", "marker: receipt for B, seq 2", false, boardB);
            allowed(verifier, ROOT + a + "/receipt", "marker: receipt for A, seq 2", false, boardA);
            allowed(operator, ROOT + b + "/cmd", "marker: command for B", false, boardB);
            allowed(ledger, ROOT + "ledger/0/block", "marker: block 0", false, boardA, boardB);

            int forged = 0;
            for (Client c : List.of(verifier, operator, ledger, boardA, boardB)) {
                for (Delivery d : c.received) {
                    if (d.payload().startsWith("forged")) {
                        forged++;
                        say("DELIVERED despite refusal: " + d.topic() + " to " + c.name);
                    }
                }
            }
            // A reads only its own receipts and commands, and the blocks.
            Predicate<String> aMayRead = t -> t.equals(ROOT + a + "/receipt")
                    || t.equals(ROOT + a + "/cmd")
                    || t.matches(Pattern.quote(ROOT) + "ledger/[^/]+/block");
            List<Delivery> foreign = boardA.received.stream()
                    .filter(d -> !aMayRead.test(d.topic()))
                    .toList();
            foreign.forEach(d -> say("DELIVERED to board A, not its own: " + d.topic() + " '" + d.payload() + "'"));
            say("board A subscribed to " + shortTopic(ROOT + b + "/receipt") + ", " + shortTopic(ROOT + "+/receipt")
                    + " and #: received " + boardA.received.size() + " message(s), " + foreign.size() + " not its own; "
                    + "board B received " + boardB.count(ROOT + b + "/receipt", "") + " receipt(s)");

            // B's retained state is still B's own.
            operator.subscribe(ROOT + b + "/state");
            Awaitility.await("B's retained state on a new subscription")
                    .atMost(WAIT)
                    .until(() -> operator.received.stream()
                                    .filter(d -> d.retained() && d.topic().equals(ROOT + b + "/state"))
                                    .count()
                            == 1);
            String retained = operator.received.stream()
                    .filter(d -> d.retained() && d.topic().equals(ROOT + b + "/state"))
                    .findFirst()
                    .orElseThrow()
                    .payload();
            say("retained state of B, read afresh by the operator: " + retained);

            // Client-id takeover: A's certificate with B's client id takes A's session, not B's
            // (use_username_as_clientid). Mosquitto 2.0 closes the older connection without a
            // DISCONNECT packet; its log names the client id it used.
            Path log = dir.resolve("mosquitto").resolve("mosquitto.log");
            String takeover = "Client " + a + " already connected, closing old connection.";
            try (Client thief = new Client("A's certificate, client id B", certs, certA, broker, b)) {
                Awaitility.await("A's first connection taken over")
                        .atMost(WAIT)
                        .until(() -> boardA.disconnect != null
                                && Files.readString(log).contains(takeover));
                say("client id takeover: A's certificate connected with client id " + b + " (B's); broker log: '"
                        + takeover + "'; board A's connection closed (" + boardA.disconnect.getException()
                        + "), board B's still open: " + boardB.client.isConnected());
                allowed(verifier, ROOT + b + "/receipt", "marker: receipt for B, seq 3", false, boardB);
                assertTrue(thief.client.isConnected());
            }
            String brokerLog = Files.readString(log);

            say(String.format(
                    "counts: publishes tried %d, refused %d (PUBACK 0x87), delivered %d, "
                            + "refused messages delivered %d, foreign messages delivered to board A %d",
                    tried, refused, delivered, forged, foreign.size()));

            assertEquals(forbidden.size(), refused, "every forbidden publish refused with 0x87");
            assertEquals(0, forged, "no refused message delivered");
            assertEquals(List.of(), foreign, "board A read nothing but its own topics");
            assertEquals(bState, retained);
            assertEquals(3, boardB.count(ROOT + b + "/receipt", ""), "B's receipts: seq 1 and the two markers");
            assertNotNull(boardA.disconnect, "A's connection taken over by its own certificate");
            assertTrue(!brokerLog.contains("Client " + b + " already connected"), "B's session untouched");
            assertEquals(null, boardB.disconnect, "B's connection untouched");
            assertTrue(boardB.client.isConnected());
        }
    }

    /** {@code from} publishes; the broker accepts it and each of {@code to} receives it. */
    private void allowed(Client from, String topic, String payload, boolean retain, Client... to) throws MqttException {
        int reason = from.publish(topic, payload, retain);
        tried++;
        // 0x00 Success or 0x10 No matching subscribers: both are success codes.
        assertTrue(reason < 0x80, () -> from.name + " on " + topic + " refused: 0x" + Integer.toHexString(reason));
        for (Client c : to) {
            Awaitility.await(payload + " at " + c.name).atMost(WAIT).until(() -> c.count(topic, payload) > 0);
            delivered++;
            say("delivered: " + from.name + " -> " + shortTopic(topic) + " -> " + c.name + " '" + payload + "'");
        }
    }

    /** {@code from} publishes and the broker refuses it with 0x87. */
    private void refusedFor(Client from, String topic, String payload, boolean retain) throws MqttException {
        int reason = from.publish(topic, payload, retain);
        tried++;
        say("tried: " + from.name + " -> " + shortTopic(topic) + ": PUBACK 0x" + Integer.toHexString(reason)
                + (reason == NOT_AUTHORIZED ? " Not authorized" : " NOT REFUSED"));
        assertEquals(NOT_AUTHORIZED, reason, () -> from.name + " on " + topic);
        refused++;
    }

    /** One line of what the test tried, saw refused and saw delivered, printed as it happens. */
    private static void say(String line) {
        System.out.println("  " + line);
    }

    static String shortTopic(String topic) {
        return topic.replace(ROOT, "…/");
    }

    /** The fenced code block of {@code page} whose first line is {@code firstLine}. */
    static String fencedBlock(String page, String firstLine) {
        Matcher m = Pattern.compile("```[a-z]*\\n(" + Pattern.quote(firstLine) + "\\n.*?)```", Pattern.DOTALL)
                .matcher(page);
        assertTrue(m.find(), () -> "no code block starting with '" + firstLine + "' in " + SECURITY);
        return m.group(1);
    }

    /** The page's broker configuration with the test's files; the fixture supplies the listener. */
    static String brokerConfig(String documented, TestCertificates certs, Path acl) {
        Map<String, Path> files = Map.of(
                "cafile", certs.ca(), "certfile", certs.serverCert(), "keyfile", certs.serverKey(), "acl_file", acl);
        List<String> out = new ArrayList<>();
        for (String line : documented.split("\n")) {
            String key = line.strip().split("\\s+")[0];
            if (line.isBlank() || line.startsWith("#") || key.equals("listener")) {
                continue;
            }
            out.add(files.containsKey(key) ? key + " " + files.get(key).toAbsolutePath() : line);
        }
        String config = String.join("\n", out);
        for (String required : List.of(
                "require_certificate true",
                "use_identity_as_username true",
                "use_username_as_clientid true",
                "allow_anonymous false",
                "acl_file ",
                "max_packet_size ",
                "max_queued_messages ",
                "max_queued_bytes ")) {
            assertTrue(config.contains(required), () -> "docs/SECURITY.md's configuration lacks " + required);
        }
        return config;
    }

    record Delivery(String topic, String payload, boolean retained) {}

    /** A Paho MQTT 5 client over mutual TLS with one certificate; it records what it receives. */
    static final class Client implements AutoCloseable {
        final String name;
        final MqttAsyncClient client;
        final ConcurrentLinkedQueue<Delivery> received = new ConcurrentLinkedQueue<>();
        volatile MqttDisconnectResponse disconnect;

        Client(
                String name,
                TestCertificates certs,
                TestCertificates.ClientCertificate cert,
                Mosquitto broker,
                String clientId)
                throws MqttException {
            this.name = name;
            client = new MqttAsyncClient(broker.sslUrl(), clientId, new MemoryPersistence());
            client.setCallback(new MqttCallback() {
                @Override
                public void disconnected(MqttDisconnectResponse response) {
                    disconnect = response;
                }

                @Override
                public void mqttErrorOccurred(MqttException exception) {}

                @Override
                public void messageArrived(String topic, MqttMessage message) {
                    received.add(new Delivery(
                            topic, new String(message.getPayload(), StandardCharsets.UTF_8), message.isRetained()));
                }

                @Override
                public void deliveryComplete(IMqttToken token) {}

                @Override
                public void connectComplete(boolean reconnect, String serverURI) {}

                @Override
                public void authPacketArrived(int reasonCode, MqttProperties properties) {}
            });
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setSocketFactory(
                    TlsSocketFactories.create(TlsSettings.mutual(certs.ca(), cert.cert(), cert.key())));
            options.setHttpsHostnameVerificationEnabled(true);
            options.setCleanStart(true);
            options.setSessionExpiryInterval(0L);
            options.setAutomaticReconnect(false);
            options.setConnectionTimeout(10);
            client.connect(options).waitForCompletion(WAIT.toMillis());
        }

        void subscribe(String... filters) throws MqttException {
            MqttSubscription[] subs = new MqttSubscription[filters.length];
            for (int i = 0; i < filters.length; i++) {
                subs[i] = new MqttSubscription(filters[i], 1);
            }
            IMqttToken token = client.subscribe(subs);
            token.waitForCompletion(WAIT.toMillis());
            for (int code : token.getReasonCodes()) {
                assertTrue(code < 0x80, () -> name + ": subscription refused, 0x" + Integer.toHexString(code));
            }
        }

        /** Publishes at QoS 1 and returns the PUBACK's reason code. */
        int publish(String topic, String payload, boolean retain) throws MqttException {
            IMqttToken token;
            try {
                token = client.publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1, retain);
                token.waitForCompletion(WAIT.toMillis());
            } catch (MqttException e) {
                if (e.getReasonCode() >= 0x80 && e.getReasonCode() <= 0xA2) {
                    return e.getReasonCode();
                }
                throw e;
            }
            int[] codes = token.getReasonCodes();
            return codes == null || codes.length == 0 ? 0 : codes[0];
        }

        long count(String topic, String payloadPrefix) {
            return received.stream()
                    .filter(d -> d.topic().equals(topic) && d.payload().startsWith(payloadPrefix))
                    .count();
        }

        @Override
        public void close() {
            try {
                if (client.isConnected()) {
                    client.disconnect().waitForCompletion(5_000);
                }
            } catch (MqttException e) {
                // closing anyway
            }
            try {
                client.close(true);
            } catch (MqttException e) {
                // closing anyway
            }
        }

        @Override
        public String toString() {
            return name + " " + received.stream().map(Delivery::topic).collect(Collectors.joining(", "));
        }
    }
}
