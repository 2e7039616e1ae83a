package dev.prospector.agent.transport;

import java.security.CodeSource;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.paho.mqttv5.common.packet.util.CountingInputStream;
import org.tinylog.Logger;

/**
 * Whether Paho decodes received packets with this module's {@link CountingInputStream} (bulk reads)
 * rather than Paho 1.2.5's own (one byte per call; see that class for why and what it costs).
 * Which one the JVM loads is a matter of class-path order: this module's jar must come before
 * Paho's, which it does wherever Maven or the launcher builds the path from our poms (a module's
 * jar precedes its dependencies). When it does not, MQTT still works, only receiving costs about
 * three times the CPU, and {@link #warnIfInactive} says so once.
 */
public final class PahoReadPatch {
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    /** Asked once: which class the JVM loaded does not change while it runs. */
    private static final boolean ACTIVE = check();

    private PahoReadPatch() {}

    /**
     * True when the loaded {@link CountingInputStream} is this module's: it reads in bulk (declares
     * {@code read(byte[], int, int)}), which Paho's does not. Asked of the class itself, not of the jar
     * it came from, so that a shaded jar holding both copies is judged by the one it kept.
     */
    public static boolean active() {
        return ACTIVE;
    }

    private static boolean check() {
        try {
            return CountingInputStream.class
                            .getDeclaredMethod("read", byte[].class, int.class, int.class)
                            .getDeclaringClass()
                    == CountingInputStream.class;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** Logs one warning per process when {@link #active} is false. */
    static void warnIfInactive() {
        if (!active() && WARNED.compareAndSet(false, true)) {
            Logger.warn(
                    "Paho's own CountingInputStream was loaded from {} instead of Prospector's: receiving MQTT"
                            + " messages costs about 3 times the CPU; put prospector-agent-transport ahead of Paho"
                            + " on the class path",
                    codeSource(CountingInputStream.class));
        }
    }

    private static String codeSource(Class<?> c) {
        CodeSource s = c.getProtectionDomain().getCodeSource();
        return s == null || s.getLocation() == null ? "?" : s.getLocation().toString();
    }
}
