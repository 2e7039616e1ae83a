package dev.prospector.agent.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code prospector measure} as an operator runs it: a child process until SIGTERM. */
class MeasureCommandIT {
    private static final Pattern STARTED = Pattern.compile(
            "measurement endpoint (http://127\\.0\\.0\\.1:\\d+) key (p[a-z2-7]{24})\\s+verifiers trust it with --measure-key (\\S+);");

    @TempDir
    Path dir;

    @Test
    void itPrintsItsAddressAndTheKeyToTrustServesAndExitsZeroOnSigterm() throws Exception {
        Path keys = dir.resolve("measure-key");
        try (ProspectorProcess m = ProspectorProcess.start(
                dir.resolve("logs"), "measure", "measure", "--port", "0", "--key-dir", keys.toString())) {
            await("started")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> STARTED.matcher(m.stdout()).find() || !m.isAlive());
            Matcher started = STARTED.matcher(m.stdout());
            assertTrue(started.find(), m::stderr);
            Path pub = Path.of(started.group(3));
            assertEquals(keys.resolve(DeviceKeys.PUBLIC_KEY_FILE).toAbsolutePath(), pub);
            assertEquals(
                    started.group(2), DeviceId.of(DeviceKeys.readPublicKey(pub)).value());
            var key = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(started.group(1) + "/v1/key"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertEquals(started.group(2), key.body().trim());
            m.stop();
            assertEquals(0, m.exitCode(), m::stderr);
        }
    }

    @Test
    void aPortOutOfRangeIsBadInputInOneLine() {
        var r = ProspectorProcess.run(dir.resolve("logs"), "bad", "measure", "--port", "70000");
        assertEquals(2, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("--port 70000 is out of range"), r.stderr());
    }
}
