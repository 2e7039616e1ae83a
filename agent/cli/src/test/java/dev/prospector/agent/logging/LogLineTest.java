package dev.prospector.agent.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.runtime.RuntimeProvider;

/**
 * Log lines are safe and journald-friendly: text from the network cannot forge a line, and under
 * systemd every line carries its syslog priority and no timestamp of its own. The same through the
 * program's own configuration, and a log level that is not one: {@link LogLineIT}.
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
}
