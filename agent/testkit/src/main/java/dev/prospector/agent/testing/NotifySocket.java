package dev.prospector.agent.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * systemd's side of {@code sd_notify(3)}: an {@code AF_UNIX} datagram socket bound by python3 (the
 * JDK cannot bind one) with {@code SO_PASSCRED} on, as systemd binds its own, so that each datagram
 * arrives with the sender's PID from the kernel ({@code SCM_CREDENTIALS}). Give its name to a
 * process as {@code NOTIFY_SOCKET}. When {@code CI=true} a missing python3 fails the test; elsewhere
 * the test is skipped with the install hint.
 */
public final class NotifySocket implements AutoCloseable {
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

    /** One datagram: the sender's PID as the kernel gave it, the text, and when it arrived ({@link System#nanoTime()}). */
    public record Message(long pid, String text, long arrivedNanos) {}

    private final Process process;
    private final String name;
    private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> bound = new LinkedBlockingQueue<>();

    private NotifySocket(Process process, String name) {
        this.process = process;
        this.name = name;
    }

    /** Binds {@code name}: an absolute path, or {@code @name} in the abstract namespace. */
    public static NotifySocket bind(String name) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", SCRIPT, name)
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            String why =
                    "python3 is needed to receive the datagrams (apt-get install python3-minimal): " + e.getMessage();
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(why, e);
            }
            Assumptions.abort(why);
            throw e;
        }
        NotifySocket s = new NotifySocket(p, name);
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader in =
                            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = in.readLine()) != null; ) {
                            long now = System.nanoTime();
                            String[] parts = line.split(" ", 2);
                            if (parts.length == 2 && parts[0].matches("-?\\d+")) {
                                s.messages.add(new Message(
                                        Long.parseLong(parts[0]),
                                        new String(HexFormat.of().parseHex(parts[1]), StandardCharsets.UTF_8),
                                        now));
                            } else {
                                s.bound.add(line);
                            }
                        }
                    } catch (IOException e) {
                        // the receiver was stopped
                    }
                },
                "notify-receiver");
        reader.setDaemon(true);
        reader.start();
        String first = s.bound.poll(20, TimeUnit.SECONDS);
        assertEquals("bound", first, "python3 receiver did not bind " + name);
        return s;
    }

    /** The name to give as {@code NOTIFY_SOCKET}. */
    public String name() {
        return name;
    }

    /** The next datagram, if one arrives within {@code wait}. */
    public Optional<Message> next(Duration wait) throws InterruptedException {
        return Optional.ofNullable(messages.poll(Math.max(0, wait.toNanos()), TimeUnit.NANOSECONDS));
    }

    /** The next {@code n} messages' texts, each checked to come from {@code pid}; each may take 10 s. */
    public List<String> take(int n, long pid) throws InterruptedException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Message m = messages.poll(10, TimeUnit.SECONDS);
            assertTrue(m != null, "message " + (i + 1) + " of " + n + " did not arrive; got " + out);
            assertEquals(pid, m.pid(), "the kernel names " + pid + " as the sender of " + m.text());
            out.add(m.text());
        }
        return out;
    }

    /** The texts of whatever arrives until {@code quiet} passes without a message, each checked to come from {@code pid}. */
    public List<String> drain(Duration quiet, long pid) throws InterruptedException {
        List<String> out = new ArrayList<>();
        for (Message m; (m = messages.poll(quiet.toMillis(), TimeUnit.MILLISECONDS)) != null; ) {
            assertEquals(pid, m.pid(), "the kernel names " + pid + " as the sender of " + m.text());
            out.add(m.text());
        }
        return out;
    }

    @Override
    public void close() {
        process.destroy();
    }
}
