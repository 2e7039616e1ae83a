package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.Claims;
import dev.prospector.attest.CrashPoint;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Report;
import dev.prospector.attest.Sha256;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * kill -9 at each step of making a report, with the chain state written only every few reports
 * (a checkpoint) and the outbox journal as the record of the chain's position. A child JVM
 * ({@link ReportCrashChild}) makes reports and ends itself ({@link CrashPoint}, {@code
 * Runtime.halt}: no shutdown hook, nothing flushed) exactly at one step; a second child starts on
 * the same data dir, publishes what the outbox holds and makes more reports. A verifier
 * ({@link Appraiser}) then appraises everything that was published, in order, and what is still in
 * the outbox. What must hold at every step:
 * <ul>
 *   <li>no seq of the chain is used for two different reports;</li>
 *   <li>the chain goes on across the crash: one chain, seqs 1..n each accepted once, no gap, no
 *       restart;</li>
 *   <li>every report the outbox confirmed stored ({@code stored}) is published or still pending.</li>
 * </ul>
 * Runtime.halt is a process crash, not a power cut: what was written but not synced survives in
 * the page cache (as after kill -9); the journal's tests cover torn and zeroed tails.
 */
class ReportCrashIT {
    private static final int FIRST_RUN = 60;
    private static final int SECOND_RUN = 12;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "halt at {0} (time {1})")
    @CsvSource({
        "sign-before-append, 20",
        "append-before-sync, 20",
        "append-after-sync, 20",
        "checkpoint-mid-write, 3",
        "checkpoint-before-record, 3",
        "compact-mid-write, 1",
        "compact-after-rename, 1",
        "preallocate-before-sync, 2",
        "sigkill, 30",
    })
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aCrashAtThisStepLosesNoStoredReportAndReusesNoSeq(String step, int time) throws Exception {
        Path data = dir.resolve("board");
        Files.createDirectories(data);
        DeviceKeys.loadOrCreate(data);
        Run first = run(data, FIRST_RUN, step, time);
        if (step.equals("sigkill")) {
            assertTrue(
                    first.sent().size() >= time, "killed after " + first.sent().size() + " reports");
        } else {
            assertEquals(CrashPoint.EXIT_STATUS, first.exit(), "the child halted at " + step + ":\n" + first.err());
            assertTrue(first.err().contains("halting at " + step), first.err());
        }
        assertFalse(first.done(), "the first run ended early");
        Run second = run(data, SECOND_RUN, "", 0);
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.done(), second.err());

        List<byte[]> delivered = new ArrayList<>(first.sent());
        delivered.addAll(second.sent());
        String device = DeviceKeys.load(data).deviceId().value();
        try (OutboxJournal outbox =
                OutboxJournal.open(data.resolve(AgentWiring.OUTBOX_FILE), 8 << 20, device, ReportCrashChild.TUNING)) {
            outbox.pending().forEach(e -> delivered.add(e.report()));
        }

        // No seq of a chain used twice with different bytes, and one chain.
        Map<String, Map<Long, String>> chains = new TreeMap<>();
        for (byte[] r : delivered) {
            Claims c = Report.decode(r).claims();
            Map<Long, String> bySeq = chains.computeIfAbsent(HexFormat.of().formatHex(c.chain()), k -> new TreeMap<>());
            String digest = HexFormat.of().formatHex(Sha256.of(r));
            String before = bySeq.putIfAbsent(c.seq(), digest);
            if (before != null) {
                assertEquals(before, digest, "seq " + c.seq() + " was used for two reports (SHA-256 shown)");
            }
        }
        assertEquals(1, chains.size(), "the chain went on across the crash, no new one: " + chains.keySet());
        TreeMap<Long, String> bySeq =
                (TreeMap<Long, String>) chains.values().iterator().next();
        long last = bySeq.lastKey();
        assertEquals(last, bySeq.size(), "seqs 1.." + last + " each made once: " + bySeq.keySet());

        // Every report the outbox confirmed is published or still pending.
        Set<String> all = new java.util.HashSet<>(bySeq.values());
        for (byte[] s : first.stored()) {
            assertTrue(
                    all.contains(HexFormat.of().formatHex(Sha256.of(s))),
                    "stored report seq " + Report.decode(s).claims().seq() + " was lost");
        }

        // The verifier's view: every report accepted once, in one chain, without gaps.
        Appraiser verifier =
                new Appraiser(AppraiserConfig.defaults().withFleet("crash").withAllowEmulated(true));
        int accepted = 0;
        int duplicates = 0;
        long gaps = 0;
        int restarts = 0;
        for (byte[] r : delivered) {
            Appraisal a = verifier.appraise(r);
            Appraisal.Accepted ok = assertInstanceOf(Appraisal.Accepted.class, a, a.toString());
            if (ok.duplicate()) {
                duplicates++;
            } else {
                accepted++;
                gaps += ok.gap();
                restarts += ok.chainRestart() ? 1 : 0;
            }
        }
        assertEquals(bySeq.size(), accepted);
        assertEquals(0, gaps, "no gap");
        assertEquals(0, restarts, "no chain restart");
        assertEquals(last, ChainState.open(data).seq(), "the clean stop checkpointed the chain state");
        System.out.printf(
                "crash at %s (time %d): first run published %d, stored %d; second run published %d; chain at seq %d, accepted %d, re-sent duplicates %d, gaps 0, restarts 0%n",
                step,
                time,
                first.sent().size(),
                first.stored().size(),
                second.sent().size(),
                last,
                accepted,
                duplicates);
    }

    private record Run(int exit, List<byte[]> sent, List<byte[]> stored, boolean done, String err) {}

    /** A whole report printed in hex, or empty for a line a kill cut short. */
    private static java.util.Optional<byte[]> report(String hex) {
        try {
            byte[] r = HexFormat.of().parseHex(hex);
            Report.decode(r);
            return java.util.Optional.of(r);
        } catch (IllegalArgumentException | MalformedReportException e) {
            return java.util.Optional.empty();
        }
    }

    private static Run run(Path data, int reports, String step, int time) throws IOException, InterruptedException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classpath));
        boolean sigkill = step.equals("sigkill");
        if (!step.isEmpty() && !sigkill) {
            command.add("-Dprospector.test.halt-at=" + step);
            command.add("-Dprospector.test.halt-after=" + time);
        }
        command.addAll(List.of(ReportCrashChild.class.getName(), data.toString(), Integer.toString(reports)));
        Path err = Files.createTempFile(data.getParent(), "child", ".err");
        Process child = new ProcessBuilder(command).redirectError(err.toFile()).start();
        List<byte[]> sent = new ArrayList<>();
        List<byte[]> stored = new ArrayList<>();
        boolean done = false;
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.startsWith("sent ")) {
                    report(line.substring(5)).ifPresent(sent::add);
                    if (sigkill && sent.size() == time) {
                        // SIGKILL, wherever the child is in the next report; what it printed before
                        // dying is still read (a line cut short by the kill is no publish), so not
                        // Process.destroyForcibly, which closes the pipe.
                        assertEquals(
                                0,
                                new ProcessBuilder("kill", "-KILL", Long.toString(child.pid()))
                                        .start()
                                        .waitFor());
                    }
                } else if (line.startsWith("stored ")) {
                    report(line.substring(7)).ifPresent(stored::add);
                } else if (line.startsWith("done ")) {
                    done = true;
                }
            }
        }
        assertTrue(child.waitFor(2, TimeUnit.MINUTES), "the child ended");
        return new Run(child.exitValue(), sent, stored, done, Files.readString(err));
    }
}
