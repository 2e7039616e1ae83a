package dev.prospector.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.testing.VerifierOutput;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos against a real Mosquitto: three agents report every second while the broker is stopped
 * and restarted, one agent is killed with SIGKILL and restarted on its data dir, and the disk of
 * another fills up and frees again, and the verifier itself is killed and restarted on its state
 * dir. Afterwards the verifiers together must hold every seq of every device
 * exactly once, with no gap except reports still waiting in an outbox or declared lost.
 */
class ChaosIT {
    private static final String FLEET = "chaos";
    private static final Duration STEP = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final List<ProspectorProcess> agents = new ArrayList<>();
    /** Every verifier process of the run; outcomes are read from all of them together. */
    private final List<ProspectorProcess> verifiers = new ArrayList<>();

    private final List<Path> dataDirs = new ArrayList<>();
    private Path logs;
    private String url;

    @Test
    void noReportIsLostOrCountedTwice() throws Exception {
        // Kept after the run (target/chaos-logs) so that a failure can be read.
        logs = Path.of("target", "chaos-logs").toAbsolutePath();
        // A run starts clean: the broker's persistence from an earlier run would hand this run's
        // verifier (same client id) reports and sessions of boards that no longer exist.
        deleteTree(logs);
        Path disk = dir.resolve("small-disk");
        mountSmallDisk(disk);
        try (Mosquitto broker = Mosquitto.start(logs.resolve("mosquitto"), "log_type all")) {
            url = broker.url();
            verifiers.add(startVerifier("verifier"));
            ProspectorProcess verifier = verifiers.get(0);
            verifier.awaitLogged("connected to", STEP);
            dataDirs.add(dir.resolve("agent-1"));
            dataDirs.add(dir.resolve("agent-2"));
            dataDirs.add(disk.resolve("agent-3"));
            for (int i = 0; i < dataDirs.size(); i++) {
                agents.add(startAgent(i, "agent-" + (i + 1)));
            }
            try {
                Map<String, Integer> devices = awaitDevices();
                awaitEachDeviceAccepted(verifier, devices, 3);

                // 1. The broker goes away; the agents keep collecting reports into their outboxes.
                Map<Path, Long> sizes = journalSizes();
                broker.stop();
                await("agents collect while the broker is away")
                        .atMost(STEP)
                        .until(() -> dataDirs.stream().allMatch(d -> journalSize(d) >= sizes.get(d) + 3 * 1500));
                broker.restart();
                Map<String, Long> before = acceptedCounts(verifier);
                awaitEachDeviceAccepted(verifier, devices, before, 5);

                // 2. Agent 2 is killed mid-run (SIGKILL) and restarted on the same data dir.
                agents.get(1).kill();
                agents.set(1, startAgent(1, "agent-2-restarted"));
                before = acceptedCounts(verifier);
                awaitEachDeviceAccepted(verifier, devices, before, 3);

                // 3. Agent 3's disk fills up, then frees again.
                Path filler = disk.resolve("filler");
                fill(filler);
                ProspectorProcess third = agents.get(2);
                await("agent 3 notices the full disk")
                        .atMost(STEP)
                        .until(() -> third.stderr().contains("No space left on device"));
                Files.delete(filler);
                before = acceptedCounts(verifier);
                awaitEachDeviceAccepted(verifier, devices, before, 3);

                // 4. The verifier is killed (SIGKILL) and restarted on its state dir: what it
                //    accepted before is remembered, what it had not acknowledged comes again.
                verifiers.get(0).kill();
                verifiers.add(startVerifier("verifier-restarted"));
                before = acceptedCounts(verifier);
                awaitEachDeviceAccepted(verifier, devices, before, 3);
            } finally {
                agents.forEach(ProspectorProcess::stop);
            }

            // Every report made must be at the verifier exactly once, unless it still waits in an
            // outbox or was declared lost.
            Map<String, Expectation> expected = new HashMap<>();
            for (Path d : dataDirs) {
                String device = DeviceKeys.load(d).deviceId().value();
                long made = ChainState.open(d).seq();
                Set<Long> pending = new TreeSet<>();
                long lost;
                try (OutboxJournal outbox = OutboxJournal.open(d.resolve(AgentWiring.OUTBOX_FILE), 64L << 20, device)) {
                    outbox.pending().forEach(e -> pending.add(e.seq()));
                    lost = outbox.losses().count();
                }
                expected.put(device, new Expectation(made, pending, lost));
            }
            await("verifier holds every delivered report").atMost(STEP).until(() -> {
                Map<String, Map<Long, Integer>> seen = acceptedSeqs(verifier);
                return expected.entrySet().stream().allMatch(e -> {
                    Map<Long, Integer> s = seen.getOrDefault(e.getKey(), Map.of());
                    for (long seq = 1; seq <= e.getValue().made(); seq++) {
                        if (!s.containsKey(seq) && !e.getValue().pending().contains(seq)) {
                            return false;
                        }
                    }
                    return true;
                });
            });
            Map<String, Map<Long, Integer>> seen = acceptedSeqs(verifier);
            System.out.println("chaos test counts:");
            for (var e : expected.entrySet()) {
                Map<Long, Integer> s = seen.getOrDefault(e.getKey(), Map.of());
                long duplicates = duplicates(verifier, e.getKey());
                System.out.printf(
                        "  device %s: made %d, accepted %d, duplicates acknowledged %d, still in outbox %d, declared lost %d%n",
                        e.getKey(),
                        e.getValue().made(),
                        s.size(),
                        duplicates,
                        e.getValue().pending().size(),
                        e.getValue().lost());
                for (var seq : s.entrySet()) {
                    assertTrue(
                            seq.getValue() <= 1,
                            "seq " + seq.getKey() + " of " + e.getKey() + " accepted " + seq.getValue() + " times");
                    assertTrue(
                            seq.getKey() >= 1 && seq.getKey() <= e.getValue().made(),
                            "seq " + seq.getKey() + " was never made");
                }
                long missing = e.getValue().made() - s.size();
                assertTrue(
                        missing <= e.getValue().pending().size() + e.getValue().lost(),
                        e.getKey() + ": " + missing + " reports missing, only "
                                + e.getValue().pending().size() + " pending and "
                                + e.getValue().lost() + " declared lost");
                assertTrue(s.size() >= 10, e.getKey() + " delivered too few reports to mean anything: " + s.size());
            }
            assertEquals(
                    0,
                    rejections(verifier),
                    () -> "rejections:\n" + verifiers.get(0).stdout()
                            + verifiers.get(verifiers.size() - 1).stdout());
        } finally {
            verifiers.forEach(ProspectorProcess::close);
            unmount(disk);
        }
    }

    record Expectation(long made, Set<Long> pending, long lost) {}

    private ProspectorProcess startVerifier(String name) {
        ProspectorProcess v = ProspectorProcess.start(
                logs,
                name,
                "verifier",
                "--broker",
                url,
                "--fleet",
                FLEET,
                "--json",
                "--allow-emulated",
                "--id",
                "chaos-verifier",
                "--session-expiry",
                "1h",
                "--state-dir",
                dir.resolve("verifier-state").toString());
        v.awaitLogged("connected to", STEP);
        return v;
    }

    private ProspectorProcess startAgent(int index, String name) {
        // End-to-end delivery: a report leaves the outbox only on the verifier's signed receipt.
        Path receiptKey = dir.resolve("verifier-state").resolve("receipt-key").resolve("device.pub");
        return ProspectorProcess.start(
                logs,
                name,
                "run",
                "--broker",
                url,
                "--fleet",
                FLEET,
                "--data-dir",
                dataDirs.get(index).toString(),
                "--board",
                "emulated",
                "--seed",
                Integer.toString(index + 1),
                "--interval",
                "1s",
                "--verifier-key",
                receiptKey.toString(),
                "--receipt-timeout",
                "3s");
    }

    private Map<String, Integer> awaitDevices() {
        Map<String, Integer> devices = new HashMap<>();
        await("device keys created")
                .atMost(STEP)
                .until(() -> dataDirs.stream().allMatch(d -> Files.exists(d.resolve(DeviceKeys.PRIVATE_KEY_FILE))));
        for (int i = 0; i < dataDirs.size(); i++) {
            int index = i;
            await().atMost(STEP).ignoreExceptions().until(() -> {
                devices.put(DeviceKeys.load(dataDirs.get(index)).deviceId().value(), index);
                return true;
            });
        }
        return devices;
    }

    private void awaitEachDeviceAccepted(ProspectorProcess verifier, Map<String, Integer> devices, int atLeast) {
        awaitEachDeviceAccepted(verifier, devices, Map.of(), atLeast);
    }

    private void awaitEachDeviceAccepted(
            ProspectorProcess verifier, Map<String, Integer> devices, Map<String, Long> before, int more) {
        await("each device has " + more + " more accepted reports").atMost(STEP).until(() -> {
            Map<String, Long> now = acceptedCounts(verifier);
            return devices.keySet().stream()
                    .allMatch(d -> now.getOrDefault(d, 0L) >= before.getOrDefault(d, 0L) + more);
        });
    }

    /** The outcomes printed by every verifier process of the run (the argument is any of them). */
    private List<CBORObject> outcomes(ProspectorProcess any) {
        return VerifierOutput.outcomes(verifiers);
    }

    /**
     * Per device, every accepted seq with how many times it was newly accepted. A seq seen only as
     * a duplicate maps to 0: its first acceptance was made durable by a verifier that died before
     * announcing it, and the restarted verifier recognised the re-delivery. Acceptance is
     * idempotent by (device, seq); a count above 1 is double counting.
     */
    private Map<String, Map<Long, Integer>> acceptedSeqs(ProspectorProcess verifier) {
        Map<String, Map<Long, Integer>> seen = new HashMap<>();
        for (CBORObject o : outcomes(verifier)) {
            if (o.get("outcome").AsString().equals("accepted")) {
                seen.computeIfAbsent(o.get("device").AsString(), d -> new HashMap<>())
                        .merge(o.get("seq").AsInt64Value(), o.get("duplicate").AsBoolean() ? 0 : 1, Integer::sum);
            }
        }
        return seen;
    }

    private Map<String, Long> acceptedCounts(ProspectorProcess verifier) {
        Map<String, Long> counts = new HashMap<>();
        acceptedSeqs(verifier).forEach((d, s) -> counts.put(d, (long) s.size()));
        return counts;
    }

    private long duplicates(ProspectorProcess verifier, String device) {
        return outcomes(verifier).stream()
                .filter(o -> o.get("outcome").AsString().equals("accepted")
                        && o.get("duplicate").AsBoolean()
                        && o.get("device").AsString().equals(device))
                .count();
    }

    private long rejections(ProspectorProcess verifier) {
        return outcomes(verifier).stream()
                .filter(o -> o.get("outcome").AsString().equals("rejected"))
                .count();
    }

    private Map<Path, Long> journalSizes() {
        Map<Path, Long> sizes = new HashMap<>();
        dataDirs.forEach(d -> sizes.put(d, journalSize(d)));
        return sizes;
    }

    /** Where the journal's records end: the file is preallocated, so its size says nothing. */
    private static long journalSize(Path dataDir) {
        try {
            byte[] bytes = Files.readAllBytes(dataDir.resolve(AgentWiring.OUTBOX_FILE));
            int end = bytes.length;
            while (end > 0 && bytes[end - 1] == 0) {
                end--;
            }
            return end;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Writes until the filesystem is full. */
    private static void fill(Path filler) throws IOException {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
    }

    /** A 2 MiB tmpfs: a real disk that really fills up. Needs root (CI runs as root). */
    private static void mountSmallDisk(Path mountPoint) throws Exception {
        Files.createDirectories(mountPoint);
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint.toString())
                .redirectErrorStream(true)
                .start();
        boolean done = mount.waitFor(20, TimeUnit.SECONDS);
        if (!done || mount.exitValue() != 0) {
            String why = new String(mount.getInputStream().readAllBytes());
            if ("true".equals(System.getenv("CI"))) {
                fail("cannot mount a small tmpfs for the full-disk step (needs root): " + why);
            }
            Assumptions.abort("cannot mount a small tmpfs for the full-disk step (needs root): " + why);
        }
    }

    private static void unmount(Path mountPoint) throws Exception {
        new ProcessBuilder("umount", "-l", mountPoint.toString())
                .redirectErrorStream(true)
                .start()
                .waitFor(20, TimeUnit.SECONDS);
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
