package dev.prospector.agent.logging;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import org.tinylog.Level;

/**
 * One log record as {@link SafeConsoleWriter} prints it: the line that the format pattern made,
 * with every control character escaped ({@link SafeText}), so text from the network cannot forge
 * a line; then, when an exception came with the record, its stack trace, the one output that keeps
 * several lines (its frames are ours; each throwable's message is escaped). For the journal every
 * line starts with the record's syslog priority as sd-daemon(3) defines the prefixes
 * ({@code <3>} error, {@code <4>} warning, {@code <6>} info, {@code <7>} debug), which journald
 * strips and stores as the entry's priority.
 */
public final class LogLine {
    private LogLine() {}

    /**
     * The message a record's line shows: its own, followed by the exception's class and message
     * when it has one ({@code "message: java.io.IOException: reason"}, as tinylog's {@code {message}}
     * shows it), or the exception alone.
     */
    public static String message(String message, Throwable exception) {
        if (exception == null) {
            return message == null ? "" : message;
        }
        return message == null || message.isEmpty() ? exception.toString() : message + ": " + exception;
    }

    /**
     * The text to write for a record: {@code line} (one line made with {@link #message}, not yet
     * escaped), then the frames of {@code exception} and its causes if it is not null; each line
     * ends with a newline.
     */
    public static String render(String line, Level level, Throwable exception, boolean journal) {
        String prefix = journal ? priorityPrefix(level) : "";
        StringBuilder b = new StringBuilder(line.length() + 8);
        b.append(prefix).append(SafeText.escape(line)).append('\n');
        if (exception != null) {
            appendTrace(b, prefix, exception);
        }
        return b.toString();
    }

    /** The sd-daemon(3) prefix of a level: SD_ERR, SD_WARNING, SD_INFO or SD_DEBUG (trace too). */
    public static String priorityPrefix(Level level) {
        return switch (level) {
            case ERROR -> "<3>";
            case WARN -> "<4>";
            case INFO -> "<6>";
            default -> "<7>";
        };
    }

    private static void appendTrace(StringBuilder b, String prefix, Throwable exception) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        String heading = "";
        for (Throwable t = exception; t != null && seen.add(t); t = t.getCause()) {
            if (!heading.isEmpty()) {
                b.append(prefix)
                        .append(heading)
                        .append(SafeText.escape(t.toString()))
                        .append('\n');
            }
            for (StackTraceElement frame : t.getStackTrace()) {
                b.append(prefix)
                        .append("\tat ")
                        .append(SafeText.escape(frame.toString()))
                        .append('\n');
            }
            heading = "Caused by: ";
        }
    }
}
