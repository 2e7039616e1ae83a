package dev.prospector.agent.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The notifier against a real AF_UNIX datagram socket bound by another program (Python, the way
 * systemd's own socket is bound: SO_PASSCRED on, so each datagram carries the sender's PID from the
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
        try (Receiver r = Receiver.bind(socket.toString())) {
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
        try (Receiver r = Receiver.bind(name)) {
            SystemdNotifier n = SystemdNotifier.of(Map.of("NOTIFY_SOCKET", name), PID);
            assertTrue(n.ready());
            assertTrue(n.watchdog());
            assertEquals(List.of("READY=1", "WATCHDOG=1"), r.take(2, PID));
        }
    }

    @Test
    void aStatusCannotSmuggleAnotherAssignment() throws Exception {
        Path socket = dir.resolve("notify");
        try (Receiver r = Receiver.bind(socket.toString())) {
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
        try (Receiver r = Receiver.bind(socket.toString())) {
            // WATCHDOG_USEC 200 ms: a ping every 100 ms.
            SystemdNotifier n =
                    SystemdNotifier.of(Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "200000"), PID);
            AtomicBoolean progress = new AtomicBoolean(true);
            ScheduledFuture<?> pings = n.startWatchdog(timer, progress::get).orElseThrow();
            assertEquals(List.of("WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"), r.take(3, PID));

            progress.set(false);
            Thread.sleep(300);
            List<String> afterStall = r.drain(Duration.ofMillis(100));
            assertTrue(
                    afterStall.stream().allMatch(m -> m.equals("WATCHDOG=1") || m.startsWith("STATUS=stalled")),
                    afterStall::toString);
            assertTrue(
                    afterStall.stream().anyMatch(m -> m.startsWith("STATUS=stalled")),
                    "the stall is shown once: " + afterStall);
            assertEquals(List.of(), r.drain(Duration.ofMillis(600)), "no pings while stalled");

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

    /**
     * A datagram socket bound by python3 with SO_PASSCRED, printing for each datagram the sender's
     * PID (from SCM_CREDENTIALS) and the payload in hex.
     */
    private static final class Receiver implements AutoCloseable {
        private static final String SCRIPT = String.join(
                "\n",
                "import socket, struct, sys",
                "name = sys.argv[1]",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)",
                "s.bind('\\0' + name[1:] if name.startswith('@') else name)",
                "print('bound', flush=True)",
                "while True:",
                "    data, anc, flags, _ = s.recvmsg(8192, socket.CMSG_SPACE(12))",
                "    pid = -1",
                "    for level, kind, value in anc:",
                "        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:",
                "            pid = struct.unpack('iII', value[:12])[0]",
                "    print(pid, data.hex(), flush=True)",
                "");

        private final Process process;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        private Receiver(Process process) {
            this.process = process;
        }

        static Receiver bind(String name) throws IOException, InterruptedException {
            Process p;
            try {
                p = new ProcessBuilder("python3", "-c", SCRIPT, name)
                        .redirectErrorStream(true)
                        .start();
            } catch (IOException e) {
                String why = "python3 is needed to receive the datagrams (apt-get install python3-minimal): "
                        + e.getMessage();
                if ("true".equals(System.getenv("CI"))) {
                    throw new AssertionError(why, e);
                }
                Assumptions.abort(why);
                throw e;
            }
            Receiver r = new Receiver(p);
            Thread reader = new Thread(
                    () -> {
                        try (BufferedReader in =
                                new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                            for (String line; (line = in.readLine()) != null; ) {
                                r.lines.add(line);
                            }
                        } catch (IOException e) {
                            // the receiver was stopped
                        }
                    },
                    "notify-receiver");
            reader.setDaemon(true);
            reader.start();
            String first = r.lines.poll(20, TimeUnit.SECONDS);
            assertEquals("bound", first, "python3 receiver did not bind " + name);
            return r;
        }

        /** The next {@code n} messages, each checked to come from {@code pid}. */
        List<String> take(int n, long pid) throws InterruptedException {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String line = lines.poll(10, TimeUnit.SECONDS);
                assertTrue(line != null, "message " + (i + 1) + " of " + n + " did not arrive; got " + out);
                out.add(decode(line, pid));
            }
            return out;
        }

        /** Whatever arrives within {@code quiet}. */
        List<String> drain(Duration quiet) throws InterruptedException {
            List<String> out = new ArrayList<>();
            for (String line; (line = lines.poll(quiet.toMillis(), TimeUnit.MILLISECONDS)) != null; ) {
                out.add(decode(line, PID));
            }
            return out;
        }

        private static String decode(String line, long pid) {
            String[] parts = line.split(" ", 2);
            assertEquals(2, parts.length, "receiver said: " + line);
            assertEquals(pid, Long.parseLong(parts[0]), "the kernel names this JVM as the sender");
            return new String(HexFormat.of().parseHex(parts[1]), StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            process.destroy();
        }
    }
}
