package dev.prospector.agent.cli;

import org.tinylog.Logger;
import sun.misc.Signal;

/**
 * The daemons' signal manners, as systemd expects them: SIGTERM stops cleanly and exits 0 (the JVM's
 * default is exit 143, which systemd records as a failure unless told otherwise), SIGHUP reloads
 * the configuration instead of ending the process (the JVM's default). Handlers run on a thread of
 * their own, never inside the signal. A process started with a signal ignored (nohup ignores
 * SIGHUP) keeps it ignored: the JVM installs no handler then, and the agent says so in a warning.
 */
public final class Signals {
    private Signals() {}

    /** Runs {@code action} on SIGTERM instead of the JVM's default (shutdown with exit 143). */
    public static void onTerminate(Runnable action) {
        handle("TERM", action);
    }

    /** Runs {@code action} on SIGHUP instead of the JVM's default (shutdown). */
    static void onHangUp(Runnable action) {
        handle("HUP", action);
    }

    /** Ends the process with {@code code} from a signal handler (shutdown hooks still run). */
    public static void exit(int code) {
        System.exit(code);
    }

    private static void handle(String name, Runnable action) {
        try {
            sun.misc.SignalHandler old = Signal.handle(
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
            if (old == sun.misc.SignalHandler.SIG_IGN) {
                // Started with the signal ignored (nohup ignores SIGHUP): the JVM keeps it ignored and
                // installs nothing, so the handler above never runs. Say so once, at the start.
                Logger.warn(
                        "SIG{} is ignored in this process (it was started with SIG{} ignored, as nohup does): {}",
                        name,
                        name,
                        name.equals("HUP")
                                ? "kill -HUP and systemctl reload will not reload the configuration; restart the program"
                                        + " to apply changes, or start it without nohup"
                                : "it will not stop the program cleanly; start it without ignoring SIG" + name);
            }
        } catch (IllegalArgumentException e) {
            // The JVM reserves the signal here (e.g. -Xrs); keep its default.
            Logger.debug("cannot handle SIG{}: {}", name, e.getMessage());
        }
    }
}
