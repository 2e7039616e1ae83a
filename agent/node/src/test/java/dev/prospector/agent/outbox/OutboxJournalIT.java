package dev.prospector.agent.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox journal against SIGKILL of the process writing it (the rest: {@link OutboxJournalTest}). */
class OutboxJournalIT {
    @TempDir
    Path dir;

    /** The report {@link OutboxCrashChild} appends as {@code seq}, as in {@link OutboxJournalTest}. */
    private static byte[] report(long seq, int size) {
        byte[] b = new byte[size];
        new Random(seq).nextBytes(b);
        return b;
    }

    /**
     * A child JVM appends reports and prints each seq once {@code append} has returned; we kill it
     * with SIGKILL mid-stream. Every seq it printed must be in the recovered journal.
     */
    @Test
    void killMinusNineNeverLosesAnAppendedReport() throws Exception {
        Path file = dir.resolve("outbox.journal");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        OutboxCrashChild.class.getName(),
                        file.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        List<Long> confirmed = new ArrayList<>();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                confirmed.add(Long.parseLong(line.trim()));
                if (confirmed.size() == 200) {
                    child.destroyForcibly(); // SIGKILL on Linux
                    break;
                }
            }
        }
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        assertEquals(200, confirmed.size());
        try (OutboxJournal j = OutboxJournal.open(file, 64L << 20, "pcrashchild")) {
            var pending = j.pending().stream().map(OutboxJournal.Entry::seq).toList();
            for (long seq : confirmed) {
                assertTrue(pending.contains(seq), "seq " + seq + " was confirmed but is missing");
            }
            for (OutboxJournal.Entry e : j.pending()) {
                assertArrayEquals(report(e.seq(), 400), e.report(), "seq " + e.seq() + " is corrupt");
            }
        }
    }
}
