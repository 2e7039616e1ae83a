package dev.prospector.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.testing.VerifierOutput;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.Partitioning;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.hardware.BoardSelection;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two verifiers share a fleet through an MQTT 5 shared subscription on real Mosquitto: each
 * report is appraised by the verifier that owns its device, exactly once across both.
 */
class VerifierScaleOutIT {
    private static final String FLEET = "scale";
    private static final int DEVICES_PER_PARTITION = 2;

    @TempDir
    Path dir;

    @Test
    void twoVerifiersInAGroupAcceptEachReportExactlyOnce() {
        Partitioning[] partitions = {new Partitioning("g", 0, 2), new Partitioning("g", 1, 2)};
        // Keys chosen so that both partitions own devices.
        List<Path> dataDirs = new ArrayList<>();
        int[] owned = new int[2];
        for (int i = 0; owned[0] < DEVICES_PER_PARTITION || owned[1] < DEVICES_PER_PARTITION; i++) {
            DeviceKeys keys = DeviceKeys.generate();
            int owner = partitions[0].owner(keys.deviceId().value());
            if (owned[owner] < DEVICES_PER_PARTITION) {
                owned[owner]++;
                Path d = dir.resolve("board-" + i);
                keys.write(d);
                dataDirs.add(d);
            }
        }
        Path logs = dir.resolve("logs");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ProspectorProcess v0 = ProspectorProcess.start(
                        logs,
                        "v0",
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        FLEET,
                        "--allow-emulated",
                        "--group",
                        "g",
                        "--partition",
                        "0/2",
                        "--json");
                ProspectorProcess v1 = ProspectorProcess.start(
                        logs,
                        "v1",
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        FLEET,
                        "--allow-emulated",
                        "--group",
                        "g",
                        "--partition",
                        "1/2",
                        "--json")) {
            for (ProspectorProcess v : List.of(v0, v1)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> v.stderr().contains("connected to") || !v.isAlive());
                assertTrue(v.isAlive(), v::stderr);
            }
            List<AgentNode> agents = new ArrayList<>();
            try {
                for (int i = 0; i < dataDirs.size(); i++) {
                    AgentNode node = AgentWiring.agent(
                            new AgentWiring.RunSettings(
                                    BrokerUrl.parse(broker.url()),
                                    FLEET,
                                    dataDirs.get(i),
                                    BoardSelection.EMULATED,
                                    Duration.ofMillis(200),
                                    AgentWiring.DEFAULT_OUTBOX_BYTES,
                                    i + 1,
                                    Set.of()),
                            Clock.systemUTC());
                    agents.add(node);
                    node.start();
                }
                await("every device has 10 accepted reports")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> {
                            Map<String, Set<Long>> all = accepted(v0, v1);
                            return agents.stream()
                                    .allMatch(a -> all.getOrDefault(a.device(), Set.of())
                                                    .size()
                                            >= 10);
                        });
                agents.forEach(AgentNode::stopReporting);
                await("outboxes drained")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> agents.stream().allMatch(a -> a.stats().pending() == 0));
                await("verifiers caught up").atMost(Duration.ofSeconds(30)).until(() -> {
                    Map<String, Set<Long>> all = accepted(v0, v1);
                    return agents.stream()
                            .allMatch(
                                    a -> all.getOrDefault(a.device(), Set.of()).size()
                                            == a.stats().made());
                });
                Map<String, Integer> timesAccepted = new HashMap<>();
                Map<String, Set<Integer>> appraisedBy = new HashMap<>();
                List<ProspectorProcess> verifiers = List.of(v0, v1);
                for (int v = 0; v < 2; v++) {
                    for (CBORObject o : outcomes(verifiers.get(v))) {
                        assertEquals("accepted", o.get("outcome").AsString(), o.toString());
                        if (!o.get("duplicate").AsBoolean()) {
                            timesAccepted.merge(
                                    o.get("device").AsString() + "#"
                                            + o.get("seq").AsInt64Value(),
                                    1,
                                    Integer::sum);
                        }
                        appraisedBy
                                .computeIfAbsent(o.get("device").AsString(), d -> new HashSet<>())
                                .add(v);
                    }
                }
                timesAccepted.forEach((report, n) -> assertEquals(1, n, report + " accepted " + n + " times"));
                for (AgentNode a : agents) {
                    assertEquals(
                            Set.of(partitions[0].owner(a.device())),
                            appraisedBy.get(a.device()),
                            "device " + a.device() + " is appraised only by its partition's verifier");
                }
            } finally {
                agents.forEach(AgentNode::close);
            }
        }
    }

    private static List<CBORObject> outcomes(ProspectorProcess verifier) {
        return VerifierOutput.outcomes(List.of(verifier));
    }

    private static Map<String, Set<Long>> accepted(ProspectorProcess... verifiers) {
        Map<String, Set<Long>> all = new HashMap<>();
        for (ProspectorProcess v : verifiers) {
            for (CBORObject o : outcomes(v)) {
                if (o.get("outcome").AsString().equals("accepted")) {
                    all.computeIfAbsent(o.get("device").AsString(), d -> new HashSet<>())
                            .add(o.get("seq").AsInt64Value());
                }
            }
        }
        return all;
    }
}
