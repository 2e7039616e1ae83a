package dev.prospector.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.DeviceKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The retained birth message on {@code <device>/state}, and the last will when the agent dies. */
class BirthAndWillIT {
    @TempDir
    Path dir;

    @Test
    void birthIsRetainedAndTheLastWillMarksAKilledAgentOffline() {
        Path data = dir.resolve("board");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ProspectorProcess agent = ProspectorProcess.start(
                        dir.resolve("logs"),
                        "agent",
                        "run",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        "birth",
                        "--data-dir",
                        data.toString(),
                        "--board",
                        "emulated",
                        "--interval",
                        "1s")) {
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data.resolve("device.pub")));
            String device = await().atMost(Duration.ofSeconds(10))
                    .ignoreExceptions()
                    .until(() -> DeviceKeys.load(data).deviceId().value(), d -> d != null);
            String topic = "prospector/v1/birth/" + device + "/state";

            // A subscriber that arrives later still gets the birth message: it is retained.
            Map<String, CBORObject> last = new ConcurrentHashMap<>();
            await("agent connected")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> agent.stderr().contains("connected to"));
            try (MqttLink watcher = new MqttLink(
                    MqttSettings.of(BrokerUrl.parse(broker.url()), "watcher").withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    (t, payload) ->
                            last.put(t, CBORObject.FromJSONString(new String(payload, StandardCharsets.UTF_8))))) {
                watcher.subscribe(topic, 1);
                watcher.connect();
                await("birth").atMost(Duration.ofSeconds(30)).until(() -> last.containsKey(topic));
                CBORObject birth = last.get(topic);
                assertTrue(birth.get("online").AsBoolean());
                assertEquals(device, birth.get("device").AsString());
                assertEquals("emulated", birth.get("board").AsString());
                assertEquals(64, birth.get("config").AsString().length());

                agent.kill(); // SIGKILL: no DISCONNECT, so the broker publishes the will
                await("last will")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> !last.get(topic).get("online").AsBoolean());
                assertFalse(last.get(topic).get("online").AsBoolean());
            }
        }
    }
}
