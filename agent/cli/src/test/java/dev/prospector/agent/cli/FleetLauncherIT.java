package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.testing.FleetArchives;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./prospector fleet list} as an operator runs it, through the launcher, against a
 * Mosquitto with its default {@code max_queued_messages} (1,000) holding 10,000 devices' retained
 * births and summaries: every device with its summary (none dropped by the broker), stdout only
 * the table or the JSON (the JVM's own messages on stderr, the class-data archive's dump
 * included), the archive written once into the user's cache and not used from a directory others
 * may write to.
 */
class FleetLauncherIT {
    private static final int DEVICES = 10_000;
    private static final String FLEET = "launch";
    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

    @TempDir
    Path dir;

    private record Run(int exit, List<String> out, String err, long ms) {}

    /** A well-formed, distinct device id for each {@code i}: its base32 digits, padded with 'a'. */
    private static String deviceId(int i) {
        char[] id = new char[25];
        java.util.Arrays.fill(id, 'a');
        id[0] = 'p';
        for (int k = 24, v = i; v > 0; k--, v >>>= 5) {
            id[k] = BASE32[v & 31];
        }
        return new String(id);
    }

    private Run launcher(Path cache, String... args) throws Exception {
        Path script = Path.of(System.getProperty("user.dir"))
                .resolve("../../prospector")
                .normalize();
        assertTrue(Files.isExecutable(script), "the launcher " + script + " is missing");
        List<String> command = new ArrayList<>(List.of(script.toString()));
        command.addAll(List.of(args));
        var pb =
                new ProcessBuilder(command).redirectError(dir.resolve("err.txt").toFile());
        pb.environment().remove("PROSPECTOR_JAVA_OPTS");
        pb.environment().remove("PROSPECTOR_CDS_ARCHIVE");
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
        long start = System.nanoTime();
        Process p = pb.start();
        List<String> out;
        try (var in = p.inputReader(StandardCharsets.UTF_8)) {
            out = in.lines().toList();
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the launcher did not finish");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        String err = Files.readString(dir.resolve("err.txt"));
        System.out.println("$ prospector " + String.join(" ", args) + " (XDG_CACHE_HOME=" + cache + "): exit "
                + p.exitValue() + ", " + out.size() + " lines on stdout in " + ms + " ms; last: "
                + (out.isEmpty()
                        ? ""
                        : out.get(out.size() - 1)
                                .substring(
                                        0, Math.min(120, out.get(out.size() - 1).length())))
                + "; stderr: " + err.strip());
        return new Run(p.exitValue(), out, err, ms);
    }

    @Test
    void theWholeCommandListsEveryDeviceWithItsSummaryAndKeepsStdoutClean() throws Exception {
        // Mosquitto's default: it drops QoS 0 messages while 1,000 packets wait for the client.
        try (var broker = Mosquitto.start(dir.resolve("mosquitto"), "max_queued_messages 1000")) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            var link = new MqttLink(
                    MqttSettings.of(url, "launcher-it-states").withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    (t, p) -> {});
            link.connect();
            String now = Instant.now().toString();
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            for (int i = 0; i < DEVICES; i++) {
                String d = deviceId(i);
                // As large as the boards' (a key, counters, a full receipt): the broker drops more
                // when fewer messages fit the socket's buffers.
                String birth = "{\"online\":true,\"device\":\"" + d
                        + "\",\"version\":\"0.1.0\",\"board\":\"emulated\",\"key_hex\":\"" + "ab".repeat(32)
                        + "\",\"config\":\"" + "cd".repeat(32) + "\",\"time\":\"" + now + "\"}";
                String summary = "{\"version\":\"0.1.0\",\"connected\":true,\"made\":" + (100 + i)
                        + ",\"delivered\":" + (100 + i) + ",\"rejected\":0,\"pending\":0,\"lost\":0,"
                        + "\"last_receipt\":{\"ok\":true,\"reason\":\"\",\"detail\":\"\",\"seq\":100,\"at\":\"" + now
                        + "\"},\"device\":\"" + d + "\",\"groups\":[\"g" + (i % 7) + "\"],\"time\":\"" + now + "\"}";
                sent.add(link.publish(Topics.state(FLEET, d), birth.getBytes(StandardCharsets.UTF_8), 1, true));
                sent.add(link.publish(Topics.summary(FLEET, d), summary.getBytes(StandardCharsets.UTF_8), 1, true));
                if (sent.size() >= 2_000) {
                    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
                            .get(60, TimeUnit.SECONDS);
                    sent.clear();
                }
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            link.close();
            System.out.println("published " + DEVICES + " devices' retained births and summaries on " + url
                    + " (max_queued_messages 1000)");

            Path cache = dir.resolve("cache");
            Run first = launcher(cache, "fleet", "list", "--broker", url.toString(), "--fleet", FLEET);
            assertEquals(0, first.exit(), first.err());
            assertEquals(DEVICES + 2, first.out().size(), "header, one row per device, the summary line");
            assertTrue(first.out().get(0).startsWith("DEVICE "), first.out().get(0));
            long withoutSummary = first.out().stream()
                    .filter(l -> l.startsWith("p") && !l.contains("accepted"))
                    .count();
            System.out.println("devices listed without their summary (dropped by the broker): " + withoutSummary);
            assertEquals(0, withoutSummary);
            assertTrue(first.out().get(DEVICES + 1).startsWith(DEVICES + " device(s), " + DEVICES + " online"));
            assertFalse(first.out().stream().anyMatch(l -> l.startsWith("[")), "no JVM log line on stdout");
            List<Path> made = FleetArchives.in(cache);
            System.out.println("class-data archive after the first run: " + made);
            assertEquals(1, made.size());
            assertEquals(
                    "rwx------",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(cache.resolve("prospector"))));

            // Whether the broker drops depends on how fast this client reads: more tries, more chances
            // to see a drop (with both subscriptions at once, a default Mosquitto dropped 0, 0 and
            // 3,422 of 10,000 summaries in three runs at load 3).
            for (int again = 0; again < 3; again++) {
                Run more = launcher(cache, "fleet", "list", "--broker", url.toString(), "--fleet", FLEET);
                assertEquals(0, more.exit(), more.err());
                long dropped = more.out().stream()
                        .filter(l -> l.startsWith("p") && !l.contains("accepted"))
                        .count();
                System.out.println("devices listed without their summary, run " + (again + 2) + ": " + dropped);
                assertEquals(0, dropped);
            }

            Run json = launcher(cache, "fleet", "list", "--json", "--broker", url.toString(), "--fleet", FLEET);
            assertEquals(0, json.exit(), json.err());
            assertEquals(1, json.out().size(), "one JSON document, nothing else");
            CBORObject doc = CBORObject.FromJSONString(json.out().get(0));
            assertEquals(DEVICES, doc.get("count").AsInt32());
            for (int i = 0; i < doc.get("devices").size(); i++) {
                assertTrue(doc.get("devices").get(i).ContainsKey("summary"), "device " + i + " has its summary");
            }
            assertEquals(made, FleetArchives.in(cache), "the archive is reused, not written again");

            // A cache others may write to: the archive in it is not used, none is written, the
            // command still works.
            Files.setPosixFilePermissions(cache.resolve("prospector"), PosixFilePermissions.fromString("rwxrwxrwx"));
            Files.delete(made.get(0));
            Run open = launcher(cache, "fleet", "list", "--broker", url.toString(), "--fleet", FLEET);
            assertEquals(0, open.exit(), open.err());
            assertEquals(DEVICES + 2, open.out().size());
            assertEquals(List.of(), FleetArchives.in(cache), "no archive written into a directory others may write to");
        }
    }
}
