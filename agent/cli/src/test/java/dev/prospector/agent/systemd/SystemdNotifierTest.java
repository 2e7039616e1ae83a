package dev.prospector.agent.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The notifier without a receiver: what it reads from the environment, which addresses it refuses,
 * and that a send that fails is reported, not thrown. What arrives on a real socket, bound by
 * Python as systemd binds its own: {@link SystemdNotifierIT}.
 */
class SystemdNotifierTest {
    private static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void withoutNotifySocketEverythingIsANoOp() {
        SystemdNotifier n = SystemdNotifier.of(Map.of("WATCHDOG_USEC", "60000000"), PID);
        assertFalse(n.enabled());
        assertFalse(n.ready());
        assertFalse(n.watchdog());
        assertFalse(n.stopping());
        assertFalse(n.status("x"));
        assertEquals(Optional.empty(), n.watchdogInterval(), "no watchdog without a socket to ping");
        assertEquals(0, n.sent());
        assertFalse(SystemdNotifier.disabled().ready());
    }

    @Test
    void watchdogIntervalIsHalfOfWatchdogUsecForThisProcessOnly() {
        Path socket = dir.resolve("notify");
        Map<String, String> env =
                new HashMap<>(Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "60000000"));
        assertEquals(
                Optional.of(Duration.ofSeconds(30)),
                SystemdNotifier.of(env, PID).watchdogInterval());
        env.put("WATCHDOG_PID", Long.toString(PID));
        assertEquals(
                Optional.of(Duration.ofSeconds(30)),
                SystemdNotifier.of(env, PID).watchdogInterval());
        env.put("WATCHDOG_PID", Long.toString(PID + 1));
        assertEquals(
                Optional.empty(),
                SystemdNotifier.of(env, PID).watchdogInterval(),
                "WATCHDOG_PID names another process");
        env.put("WATCHDOG_PID", "x");
        assertEquals(Optional.empty(), SystemdNotifier.of(env, PID).watchdogInterval());
        env.remove("WATCHDOG_PID");
        env.put("WATCHDOG_USEC", "0");
        assertEquals(Optional.empty(), SystemdNotifier.of(env, PID).watchdogInterval());
        env.remove("WATCHDOG_USEC");
        assertEquals(Optional.empty(), SystemdNotifier.of(env, PID).watchdogInterval());
    }

    @Test
    void unusableAddressesDisableTheNotifier() {
        assertFalse(SystemdNotifier.of(Map.of("NOTIFY_SOCKET", "relative/notify"), PID)
                .enabled());
        assertFalse(
                SystemdNotifier.of(Map.of("NOTIFY_SOCKET", "vsock:2:1234"), PID).enabled());
        assertFalse(SystemdNotifier.of(Map.of("NOTIFY_SOCKET", "/" + "x".repeat(107)), PID)
                .enabled());
        assertTrue(SystemdNotifier.of(Map.of("NOTIFY_SOCKET", "/" + "x".repeat(106)), PID)
                .enabled());
        assertFalse(SystemdNotifier.of(Map.of("NOTIFY_SOCKET", "@"), PID).enabled());
    }

    @Test
    void aMissingSocketIsReportedNotThrown() {
        SystemdNotifier n =
                SystemdNotifier.of(Map.of("NOTIFY_SOCKET", dir.resolve("gone").toString()), PID);
        assertTrue(n.enabled());
        assertFalse(n.ready(), "ENOENT: not sent");
        assertFalse(n.watchdog());
        assertEquals(0, n.sent());
    }
}
