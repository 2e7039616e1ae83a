package dev.prospector.agent.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EmbeddedBrokerIT {

    @Test
    void carriesAQosOneMessageToASharedSubscriptionOnLoopback() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.startOnFreePort()) {
            assertTrue(broker.url().startsWith("tcp://127.0.0.1:"));
            BlockingQueue<String> received = new ArrayBlockingQueue<>(4);
            BlockingQueue<byte[]> payloads = new ArrayBlockingQueue<>(4);
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (MqttLink sub = new MqttLink(
                            MqttSettings.of(url, "sub").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (topic, payload) -> {
                                received.add(topic);
                                payloads.add(payload);
                            });
                    MqttLink pub = new MqttLink(
                            MqttSettings.of(url, "pub").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (topic, payload) -> {})) {
                sub.connect();
                sub.subscribe("$share/verifiers/prospector/v1/test/+/report", 1);
                pub.connect();
                pub.publish("prospector/v1/test/dev1/report", new byte[] {1, 2, 3}, 1, false)
                        .get(10, TimeUnit.SECONDS);
                assertEquals("prospector/v1/test/dev1/report", received.poll(10, TimeUnit.SECONDS));
                assertArrayEquals(new byte[] {1, 2, 3}, payloads.poll(1, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void afterItStopsJavaUtilLoggingStillWorksInThisJvm() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.startOnFreePort()) {
            assertTrue(broker.port() > 0);
        }
        // Paho logs through java.util.logging; the broker's logging bridge must not outlive its class loader.
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger("org.eclipse.paho.test");
        for (java.util.logging.Handler h :
                java.util.logging.LogManager.getLogManager().getLogger("").getHandlers()) {
            assertTrue(
                    h.getClass().getClassLoader() != null
                                    && !h.getClass().getClassLoader().getName().equals("embedded-broker")
                            || h.getClass().getClassLoader() == null,
                    "a handler of the closed broker: " + h);
        }
        jul.warning("a line after the embedded broker stopped"); // threw NoClassDefFoundError before
    }

    @Test
    void hidesItsJarsFromTheAgentClassPath() {
        assertThrowsClassNotFound("com.hivemq.embedded.EmbeddedHiveMQ");
        assertThrowsClassNotFound("ch.qos.logback.classic.Logger");
    }

    private static void assertThrowsClassNotFound(String name) {
        try {
            Class.forName(name);
            throw new AssertionError(name + " is visible on the agent's class path");
        } catch (ClassNotFoundException expected) {
            // as designed
        }
    }
}
