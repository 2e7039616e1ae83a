package dev.prospector.agent.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.NotifySocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The notifier against a real AF_UNIX datagram socket bound by another program ({@link NotifySocket}:
 * Python, the way systemd's own socket is bound: SO_PASSCRED on, so each datagram carries the sender's PID from the
 * kernel). Every message arrives whole, as one datagram, from this JVM's PID, which is what lets
 * systemd accept it under NotifyAccess=main.
 */
class SystemdNotifierIT {
    private static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void messagesArriveAtAPathSocketFromThisProcess() throws Exception {
        Path socket = dir.resolve("notify");
        try (NotifySocket r = NotifySocket.bind(socket.toString())) {
            SystemdNotifier n = SystemdNotifier.of(Map.of("NOTIFY_SOCKET", socket.toString()), PID);
            assertTrue(n.enabled());
            assertTrue(n.ready());
            assertTrue(n.status("connected to tcp://broker:1883, 0 pending"));
            assertTrue(n.watchdog());
            assertTrue(n.ready("reloaded"));
            assertTrue(n.stopping());
            assertEquals(
                    List.of(
                            "READY=1",
                            "STATUS=connected to tcp://broker:1883, 0 pending",
                            "WATCHDOG=1",
                            "READY=1\nSTATUS=reloaded",
                            "STOPPING=1"),
                    r.take(5, PID));
            assertEquals(5, n.sent());
        }
    }

    @Test
    void messagesArriveAtAnAbstractSocket() throws Exception {
        String name = "@prospector-notify-test-" + UUID.randomUUID();
        try (NotifySocket r = NotifySocket.bind(name)) {
            SystemdNotifier n = SystemdNotifier.of(Map.of("NOTIFY_SOCKET", name), PID);
            assertTrue(n.ready());
            assertTrue(n.watchdog());
            assertEquals(List.of("READY=1", "WATCHDOG=1"), r.take(2, PID));
        }
    }

    @Test
    void aStatusCannotSmuggleAnotherAssignment() throws Exception {
        Path socket = dir.resolve("notify");
        try (NotifySocket r = NotifySocket.bind(socket.toString())) {
            SystemdNotifier n = SystemdNotifier.of(Map.of("NOTIFY_SOCKET", socket.toString()), PID);
            String longText = "x".repeat(5000);
            assertTrue(n.status("receipt detail\nREADY=1\r\u001b[2J"));
            assertTrue(n.status(longText));
            List<String> got = r.take(2, PID);
            assertEquals("STATUS=receipt detail READY=1  [2J", got.get(0));
            assertEquals("STATUS=" + "x".repeat(SystemdNotifier.MAX_STATUS_CHARS), got.get(1));
        }
    }

    @Test
    void theWatchdogPingsOnlyWhileTheDaemonMakesProgress() throws Exception {
        Path socket = dir.resolve("notify");
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (NotifySocket r = NotifySocket.bind(socket.toString())) {
            // WATCHDOG_USEC 200 ms: a ping every 100 ms.
            SystemdNotifier n =
                    SystemdNotifier.of(Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "200000"), PID);
            AtomicBoolean progress = new AtomicBoolean(true);
            ScheduledFuture<?> pings = n.startWatchdog(timer, progress::get).orElseThrow();
            assertEquals(List.of("WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"), r.take(3, PID));

            progress.set(false);
            Thread.sleep(300);
            List<String> afterStall = r.drain(Duration.ofMillis(100), PID);
            assertTrue(
                    afterStall.stream().allMatch(m -> m.equals("WATCHDOG=1") || m.startsWith("STATUS=stalled")),
                    afterStall::toString);
            assertTrue(
                    afterStall.stream().anyMatch(m -> m.startsWith("STATUS=stalled")),
                    "the stall is shown once: " + afterStall);
            assertEquals(List.of(), r.drain(Duration.ofMillis(600), PID), "no pings while stalled");

            progress.set(true);
            assertEquals("WATCHDOG=1", r.take(1, PID).get(0), "pings again once it recovers");
            pings.cancel(false);
        } finally {
            timer.shutdownNow();
        }
        assertEquals(
                Optional.empty(),
                SystemdNotifier.of(Map.of("NOTIFY_SOCKET", socket.toString()), PID)
                        .startWatchdog(timer, () -> true),
                "no watchdog configured: nothing scheduled");
    }
}
