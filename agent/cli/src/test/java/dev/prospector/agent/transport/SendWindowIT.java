package dev.prospector.agent.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.prospector.agent.testing.Mosquitto;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many publishes at once wait for the send window instead of failing ("too many publishes in progress"). */
class SendWindowIT {
    @TempDir
    Path dir;

    @Test
    void fiveHundredPublishesAtOnceAllArriveThroughABrokerThatAllowsFiveInFlight() throws Exception {
        int n = 500;
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"), "max_inflight_messages 5")) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Set<String> received = ConcurrentHashMap.newKeySet();
            try (MqttLink sub = new MqttLink(
                            MqttSettings.of(url, "sub").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (topic, payload) -> received.add(new String(payload)));
                    MqttLink pub = new MqttLink(
                            MqttSettings.of(url, "pub").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (topic, payload) -> {})) {
                sub.subscribe("window/#", 1);
                sub.connect();
                pub.connect();
                List<CompletableFuture<Void>> sent = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    sent.add(
                            pub.publish("window/" + (i % 7), Integer.toString(i).getBytes(), 1, false));
                }
                try {
                    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
                            .get(20, TimeUnit.SECONDS);
                } catch (Exception e) {
                    long ok = sent.stream()
                            .filter(f -> f.isDone() && !f.isCompletedExceptionally())
                            .count();
                    long bad = sent.stream()
                            .filter(CompletableFuture::isCompletedExceptionally)
                            .count();
                    String first = sent.stream()
                            .filter(CompletableFuture::isCompletedExceptionally)
                            .findFirst()
                            .map(f -> {
                                try {
                                    f.join();
                                    return "";
                                } catch (Exception x) {
                                    return x.toString();
                                }
                            })
                            .orElse("");
                    throw new AssertionError(
                            "ok " + ok + " failed " + bad + " received " + received.size() + " " + first, e);
                }
                await("all delivered").atMost(Duration.ofSeconds(60)).until(() -> received.size() == n);
                assertEquals(n, received.size());
            }
        }
    }
}
