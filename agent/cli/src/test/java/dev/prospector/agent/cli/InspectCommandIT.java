package dev.prospector.agent.cli;

import static dev.prospector.agent.cli.InspectCommandTest.inspect;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.InspectCommandTest.Run;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prospector inspect -} on what {@code mosquitto_sub -N} prints of a real board on a real
 * Mosquitto; the rest of inspect runs in this process, in {@link InspectCommandTest}.
 */
class InspectCommandIT {
    @TempDir
    Path dir;

    /**
     * A real board on a real Mosquitto: {@code mosquitto_sub -N -C 2}, subscribed after the board's
     * birth, receives the retained state and the next report back to back, and inspect reads both
     * from stdin.
     */
    @Test
    void whatMosquittoSubPrintsOfARealBoardDecodesFromStdin() throws Exception {
        Path sub = requireTool("mosquitto_sub");
        Path captured = dir.resolve("captured.bin");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                AgentNode agent = LocalStack.emulatedBoard(
                        BrokerUrl.parse(broker.url()),
                        "insp",
                        dir.resolve("data"),
                        Duration.ofSeconds(1),
                        Clock.systemUTC())) {
            agent.start();
            await("board connected")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> agent.stats().connected());
            Process p = new ProcessBuilder(
                            sub.toString(),
                            "-h",
                            "127.0.0.1",
                            "-p",
                            Integer.toString(broker.port()),
                            "-q",
                            "1",
                            "-t",
                            "prospector/v1/insp/#",
                            "-N",
                            "-C",
                            "2")
                    .redirectOutput(captured.toFile())
                    .redirectError(dir.resolve("sub.err").toFile())
                    .start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("mosquitto_sub got fewer than 2 messages in 60 s: " + Files.readString(dir.resolve("sub.err")));
            }
            assertEquals(0, p.exitValue(), Files.readString(dir.resolve("sub.err")));
        }
        byte[] bytes = Files.readAllBytes(captured);

        Run json = inspect(bytes, "--json", "-");
        assertEquals(0, json.exit(), json.err());
        assertEquals(List.of("report", "state"), json.kinds().stream().sorted().toList(), json.out());
        CBORObject state = json.json().stream()
                .filter(o -> o.get("kind").AsString().equals("state"))
                .findFirst()
                .orElseThrow();
        CBORObject report = json.json().stream()
                .filter(o -> o.get("kind").AsString().equals("report"))
                .findFirst()
                .orElseThrow();
        assertTrue(state.get("online").AsBoolean());
        assertEquals(
                DeviceKeys.load(dir.resolve("data")).deviceId().value(),
                state.get("device").AsString());
        assertEquals(state.get("device").AsString(), report.get("device").AsString());
        assertEquals(report.get("key").AsString(), state.get("key_hex").AsString(), "the birth's key is the report's");
        assertEquals("valid", report.get("signature").AsString());
        assertTrue(DeviceId.isValid(report.get("device").AsString()));

        Run text = inspect(bytes, "-");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("state (online)") && text.out().contains("signature: valid"), text.out());
    }

    /** A Mosquitto client tool, or a failed (CI) or skipped (elsewhere) test, as {@link Mosquitto#requireBinary}. */
    private static Path requireTool(String name) {
        String path = System.getenv("PATH") == null ? "" : System.getenv("PATH");
        Optional<Path> found = java.util.stream.Stream.concat(
                        java.util.stream.Stream.of("/usr/bin", "/usr/local/bin"), Arrays.stream(path.split(":")))
                .map(d -> Paths.get(d, name))
                .filter(Files::isExecutable)
                .findFirst();
        if (found.isEmpty()) {
            String message = name + " is not installed: apt-get install -y mosquitto-clients";
            if ("true".equals(System.getenv("CI"))) {
                fail(message);
            }
            Assumptions.abort(message);
        }
        return found.get();
    }
}
