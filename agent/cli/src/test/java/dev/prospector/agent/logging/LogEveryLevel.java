package dev.prospector.agent.logging;

import org.tinylog.Logger;

/**
 * A child JVM for {@link LogLineIT}: logs one record at every level, each with a newline and an
 * ESC in its message, under the program's own tinylog.properties.
 */
public final class LogEveryLevel {
    private LogEveryLevel() {}

    public static void main(String[] args) {
        org.tinylog.configuration.Configuration.set("writer.level", "trace");
        String hostile = "detail\n12:00:00.000 ERROR [main] forged\u001b[31m";
        Logger.error("error: {}", hostile);
        Logger.warn("warn: {}", hostile);
        Logger.info("info: {}", hostile);
        Logger.debug("debug: {}", hostile);
        Logger.trace("trace: {}", hostile);
        Logger.error(new IllegalStateException("bad\nthing"), "with a trace");
    }
}
