package dev.prospector.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ProspectorCommand;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.Attestation;
import dev.prospector.ledger.BlockFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The board's ledger shard over a real broker: blocks in, signed attestations out. */
class LedgerOverMqttIT {
    @TempDir
    Path dir;

    @Test
    void aBlockGetsAValidSignedAttestationAndACorruptOneAnInvalidOne() throws Exception {
        Path ledgerFile = dir.resolve("shard.blocks");
        int exit = ProspectorCommand.execute(
                new String[] {
                    "ledger",
                    "gen",
                    "--txs",
                    "50",
                    "--accounts",
                    "200",
                    "--blocks",
                    "2",
                    "--seed",
                    "3",
                    "--out",
                    ledgerFile.toString()
                },
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, exit);
        byte[] block1;
        byte[] block2;
        try (BlockFile.Reader reader = new BlockFile.Reader(ledgerFile)) {
            block1 = reader.next().orElseThrow();
            block2 = reader.next().orElseThrow();
        }
        Path data = dir.resolve("board");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            List<Attestation> attestations = new CopyOnWriteArrayList<>();
            try (AgentNode agent = AgentWiring.agent(
                            new AgentWiring.RunSettings(
                                    url,
                                    "f",
                                    data,
                                    BoardSelection.EMULATED,
                                    Duration.ofSeconds(30),
                                    AgentWiring.DEFAULT_OUTBOX_BYTES,
                                    1,
                                    Set.of(),
                                    Optional.of(ledgerFile)),
                            Clock.systemUTC());
                    MqttLink network = new MqttLink(
                            MqttSettings.of(url, "network").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (topic, payload) -> {
                                try {
                                    attestations.add(Attestation.decode(payload));
                                } catch (Exception e) {
                                    throw new AssertionError(e);
                                }
                            })) {
                network.subscribe("prospector/v1/f/ledger/+/attest/+", 1);
                network.connect();
                agent.start();
                await("agent connected")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> agent.stats().connected());
                String blocks = Attestation.blockTopic("f", 0);
                byte[] corrupt = block2.clone();
                corrupt[corrupt.length - 10] ^= 1;
                network.publish(blocks, corrupt, 1, false).get();
                network.publish(blocks, block1, 1, false).get();
                await("two attestations").atMost(Duration.ofSeconds(30)).until(() -> attestations.size() >= 2);

                Attestation bad = attestations.get(0);
                Attestation good = attestations.get(1);
                assertFalse(bad.valid());
                assertTrue(bad.reason().isPresent(), bad.toString());
                assertTrue(good.valid(), good.toString());
                assertEquals(1, good.height());
                for (Attestation a : attestations) {
                    assertTrue(a.verifySignature(), "attestation signed by the board");
                    assertEquals(Address.of(DeviceKeys.load(data).publicKey()), a.device());
                }
            }
        }
    }
}
