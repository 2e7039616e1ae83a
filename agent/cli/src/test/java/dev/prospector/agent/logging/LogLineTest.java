package dev.prospector.agent.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.runtime.RuntimeProvider;

/**
 * Log lines are safe and journald-friendly: text from the network cannot forge a line, under
 * systemd every line carries its syslog priority and no timestamp of its own, and a log level
 * that is not one is said, not ignored.
 */
class LogLineTest {
    private static final String FORMAT = "{date: HH:mm:ss.SSS} {level} [{thread}] {message}";
    private static final Pattern TIMESTAMP = Pattern.compile("\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d");
    /** A receipt detail as a hostile verifier or broker could send it: a fake second line, and ESC. */
    private static final String HOSTILE = "detail\n12:00:00.000 ERROR [main] forged\u001b[31m";

    @TempDir
    Path dir;

    @Test
    void everyControlCharacterIsEscapedAndOtherTextKept() {
        assertEquals(
                "a\\nb\\rc\\td\\x1be\\x00f\\x7fg\\u0085h\\u009bi\\u2028j",
                SafeText.escape("a\nb\rc\td\u001be\u0000f\u007fg\u0085h\u009bi\u2028j"));
        String plain = "caf\u00e9 \\n is two characters, \u4e2d\u6587 too";
        assertSame(plain, SafeText.escape(plain), "text without control characters is returned as it is");
    }

    @Test
    void aMessageWithANewlineAndEscComesOutAsOneEscapedLine() {
        String out = write(Map.of(), entry(Level.WARN, "the verifier rejected report seq 4: stale: " + HOSTILE, null));
        assertTrue(out.endsWith("\n"));
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.contains("stale: detail\\n12:00:00.000 ERROR [main] forged\\x1b[31m"), out);
        assertFalse(out.contains("\u001b"), out);
        assertTrue(TIMESTAMP.matcher(out).lookingAt(), "the console format starts with the time: " + out);
        assertTrue(out.contains(" WARN [main] "), out);
    }

    @Test
    void underSystemdEachLevelCarriesItsPriorityAndNoTimestamp() {
        Map<String, String> journal = Map.of("JOURNAL_STREAM", "8:123456");
        Map<Level, String> prefix = Map.of(
                Level.ERROR, "<3>", Level.WARN, "<4>", Level.INFO, "<6>", Level.DEBUG, "<7>", Level.TRACE, "<7>");
        prefix.forEach((level, expected) -> {
            String out = write(journal, entry(level, "message " + HOSTILE, null));
            assertEquals(1, out.lines().count(), out);
            assertTrue(out.startsWith(expected + level.name() + " [main] message detail\\n"), out);
            assertFalse(
                    TIMESTAMP.matcher(out.substring(expected.length())).lookingAt(),
                    "the journal stamps entries itself: " + out);
        });
    }

    @Test
    void aStackTraceKeepsItsLinesEachWithThePriorityAndItsMessageEscaped() {
        Exception e = new IllegalStateException("bad\nthing", new java.io.IOException("cause\u001b"));
        String out = write(Map.of("JOURNAL_STREAM", "8:1"), entry(Level.ERROR, "failed", e));
        List<String> lines = out.lines().toList();
        assertEquals("<3>ERROR [main] failed: java.lang.IllegalStateException: bad\\nthing", lines.get(0));
        assertTrue(lines.get(1).startsWith("<3>\tat "), lines.get(1));
        assertTrue(lines.contains("<3>Caused by: java.io.IOException: cause\\x1b"), out);
        assertTrue(lines.stream().allMatch(l -> l.startsWith("<3>")), out);
        assertEquals(e.getStackTrace().length + e.getCause().getStackTrace().length + 2, lines.size(), out);
    }

    @Test
    void theProgramsConfigurationEscapesLinesAndFollowsJournalStream() throws Exception {
        ChildRun plain = child(Map.of(), "dev.prospector.agent.logging.LogEveryLevel");
        List<String> lines = plain.stderr().lines().toList();
        assertEquals(6, lines.stream().filter(l -> !l.startsWith("\tat ")).count(), plain.stderr());
        for (String line : lines.subList(0, 5)) {
            assertTrue(TIMESTAMP.matcher(line).lookingAt(), line);
            assertTrue(line.endsWith("detail\\n12:00:00.000 ERROR [main] forged\\x1b[31m"), line);
        }

        ChildRun journal = child(Map.of("JOURNAL_STREAM", "8:123456"), "dev.prospector.agent.logging.LogEveryLevel");
        List<String> journalLines = journal.stderr().lines().toList();
        List<String> prefixes =
                journalLines.subList(0, 5).stream().map(l -> l.substring(0, 3)).toList();
        assertEquals(List.of("<3>", "<4>", "<6>", "<7>", "<7>"), prefixes, journal.stderr());
        assertTrue(journalLines.stream().allMatch(l -> l.matches("<[3467]>.*")), journal.stderr());
        assertTrue(
                journalLines.stream()
                        .noneMatch(l -> TIMESTAMP.matcher(l.substring(3)).lookingAt()),
                journal.stderr());
        assertEquals("<3>ERROR [main] with a trace: java.lang.IllegalStateException: bad\\nthing", journalLines.get(5));
    }

    @Test
    void anUnknownLogLevelIsOneWarningNamingTheValidOnes() throws Exception {
        ChildRun run = child(Map.of("PROSPECTOR_LOG_LEVEL", "verbose"), "dev.prospector.agent.Main", "--version");
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stdout().startsWith("prospector "), run.stdout());
        List<String> lines = run.stderr().lines().toList();
        assertEquals(1, lines.size(), run.stderr());
        assertTrue(lines.get(0).contains("WARN"), lines.get(0));
        assertTrue(
                lines.get(0)
                        .contains(
                                "PROSPECTOR_LOG_LEVEL=verbose is not a log level (trace, debug, info, warn, error, off)"),
                lines.get(0));
        assertTrue(lines.get(0).endsWith("logging at warn"), lines.get(0));
    }

    // ------------------------------------------------------------ helpers

    private static LogEntry entry(Level level, String message, Throwable exception) {
        return new LogEntry(
                RuntimeProvider.createTimestamp(),
                Thread.currentThread(),
                Map.of(),
                LogLineTest.class.getName(),
                "test",
                "LogLineTest.java",
                1,
                null,
                level,
                message,
                exception);
    }

    /** What the writer, configured as tinylog.properties configures it, prints for {@code entry}. */
    private static String write(Map<String, String> environment, LogEntry entry) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        SafeConsoleWriter writer =
                new SafeConsoleWriter(Map.of("format", FORMAT, "stream", "err"), environment, stream);
        writer.write(entry);
        writer.flush();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    record ChildRun(int exit, String stdout, String stderr) {}

    /** Runs {@code mainClass} in a child JVM with this class path, the program's tinylog.properties and {@code env}. */
    private ChildRun child(Map<String, String> env, String mainClass, String... args)
            throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command =
                new ArrayList<>(List.of(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "child", ".out");
        Path err = Files.createTempFile(dir, "child", ".err");
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().remove("PROSPECTOR_LOG_LEVEL");
        pb.environment().remove("PROSPECTOR_CONFIG");
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 60 s");
        }
        return new ChildRun(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
