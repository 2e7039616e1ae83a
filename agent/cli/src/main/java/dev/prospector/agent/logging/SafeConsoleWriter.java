package dev.prospector.agent.logging;

import java.io.PrintStream;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import org.tinylog.core.LogEntry;
import org.tinylog.core.LogEntryValue;
import org.tinylog.writers.AbstractFormatPatternWriter;

/**
 * The program's only log writer ({@code writer = safe console} in tinylog.properties): tinylog's
 * console writer, made safe for text from the network and fit for the journal.
 *
 * <ul>
 * <li>Every record is one line ({@link LogLine}): control characters anywhere in it are escaped,
 * so a newline in a receipt's detail or a topic cannot start a forged line. Only an attached
 * exception's stack trace keeps several lines.
 * <li>Under systemd ({@code JOURNAL_STREAM} set, as systemd sets it for a service whose output goes
 * to the journal) every line starts with its syslog priority ({@code <3>} … {@code <7>}) and is
 * written with {@code journal-format}, which has no timestamp: the journal stamps each entry.
 * Elsewhere lines use {@code format}.
 * </ul>
 *
 * Properties: {@code format}, {@code journal-format} (default {@value #DEFAULT_JOURNAL_FORMAT}), both
 * one line; {@code stream}, {@code err} (default) or {@code out}.
 */
public final class SafeConsoleWriter extends AbstractFormatPatternWriter {
    /** Set by systemd when the service's stdout or stderr is connected to the journal. */
    public static final String JOURNAL_STREAM = "JOURNAL_STREAM";
    /** Format pattern for the journal when the configuration names none: no date, the journal has it. */
    public static final String DEFAULT_JOURNAL_FORMAT = "{level} [{thread}] {message}";

    private final boolean journal;
    private final boolean toStdout;
    /** Null: System.err (or System.out) as it is at each write, so a redirected stream is followed. */
    private final PrintStream stream;

    /** As tinylog creates it: the environment decides whether output goes to the journal. */
    public SafeConsoleWriter(Map<String, String> properties) {
        this(properties, System.getenv(), null);
    }

    /** With the environment and stream given: for tests. */
    SafeConsoleWriter(Map<String, String> properties, Map<String, String> environment, PrintStream stream) {
        super(withFormatFor(properties, isJournal(environment)));
        this.journal = isJournal(environment);
        this.toStdout = "out".equalsIgnoreCase(getStringValue("stream"));
        this.stream = stream;
    }

    /** True under systemd with output to the journal. */
    static boolean isJournal(Map<String, String> environment) {
        String value = environment.get(JOURNAL_STREAM);
        return value != null && !value.isBlank();
    }

    private static Map<String, String> withFormatFor(Map<String, String> properties, boolean journal) {
        if (!journal) {
            return properties;
        }
        Map<String, String> p = new HashMap<>(properties);
        p.put("format", properties.getOrDefault("journal-format", DEFAULT_JOURNAL_FORMAT));
        return p;
    }

    @Override
    public Collection<LogEntryValue> getRequiredLogEntryValues() {
        EnumSet<LogEntryValue> values = EnumSet.of(LogEntryValue.LEVEL, LogEntryValue.MESSAGE, LogEntryValue.EXCEPTION);
        values.addAll(super.getRequiredLogEntryValues());
        return values;
    }

    @Override
    public void write(LogEntry entry) {
        Throwable exception = entry.getException();
        // The pattern renders the message line only; the stack trace is LogLine's, escaped frame by frame.
        LogEntry line = new LogEntry(
                entry.getTimestamp(),
                entry.getThread(),
                entry.getContext(),
                entry.getClassName(),
                entry.getMethodName(),
                entry.getFileName(),
                entry.getLineNumber(),
                entry.getTag(),
                entry.getLevel(),
                LogLine.message(entry.getMessage(), exception),
                null);
        String rendered = render(line);
        int end = rendered.length();
        while (end > 0 && (rendered.charAt(end - 1) == '\n' || rendered.charAt(end - 1) == '\r')) {
            end--;
        }
        // One print per record: PrintStream locks around it, so records of two threads never interleave.
        out().print(LogLine.render(rendered.substring(0, end), entry.getLevel(), exception, journal));
    }

    @Override
    public void flush() {
        out().flush();
    }

    @Override
    public void close() {
        flush();
    }

    private PrintStream out() {
        return stream != null ? stream : toStdout ? System.out : System.err;
    }
}
