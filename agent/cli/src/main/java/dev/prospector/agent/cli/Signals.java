package dev.prospector.agent.cli;

import org.tinylog.Logger;
import sun.misc.Signal;

/**
 * The daemons' signal manners, as systemd expects them: SIGTERM stops cleanly and exits 0 (the JVM's
 * default is exit 143, which systemd records as a failure unless told otherwise), SIGHUP reloads
 * the configuration instead of ending the process (the JVM's default). Handlers run on a thread of
 * their own, never inside the signal.
 */
final class Signals {
    private Signals() {}

    /** Runs {@code action} on SIGTERM instead of the JVM's default (shutdown with exit 143). */
    static void onTerminate(Runnable action) {
        handle("TERM", action);
    }

    /** Runs {@code action} on SIGHUP instead of the JVM's default (shutdown). */
    static void onHangUp(Runnable action) {
        handle("HUP", action);
    }

    /** Ends the process with {@code code} from a signal handler (shutdown hooks still run). */
    static void exit(int code) {
        System.exit(code);
    }

    private static void handle(String name, Runnable action) {
        try {
            Signal.handle(
                    new Signal(name),
                    s -> new Thread(
                                    () -> {
                                        try {
                                            action.run();
                                        } catch (RuntimeException e) {
                                            Logger.error("handling SIG{} failed: {}", name, e.toString());
                                            Logger.debug(e);
                                        }
                                    },
                                    "signal-" + name.toLowerCase(java.util.Locale.ROOT))
                            .start());
        } catch (IllegalArgumentException e) {
            // The JVM reserves the signal here (e.g. -Xrs); keep its default.
            Logger.debug("cannot handle SIG{}: {}", name, e.getMessage());
        }
    }
}
