package dev.prospector.agent.systemd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.tinylog.Logger;

/**
 * Tells systemd how the daemon is doing, by the {@code sd_notify(3)} protocol: one datagram per
 * message, {@code KEY=VALUE} lines, sent to the {@code AF_UNIX} datagram socket named by
 * {@code $NOTIFY_SOCKET} (a path, or {@code @name} in the abstract namespace). systemd takes the
 * sender's PID from the kernel's {@code SCM_CREDENTIALS}, so a message sent from the JVM itself is
 * accepted under {@code NotifyAccess=main}.
 *
 * <p>The JDK cannot send it: since Java 16 {@code SocketChannel} speaks {@code AF_UNIX}, but only
 * stream sockets, and {@code DatagramChannel} has no {@code AF_UNIX}. So the datagram goes through
 * libc's {@code socket(2)} and {@code sendto(2)} by JNA, which the board already carries (Pi4J's
 * linuxfs plugin uses it for I2C). docs/OPERATIONS.md gives the numbers behind that choice.
 *
 * <p>Without {@code $NOTIFY_SOCKET} (not started by systemd, or not {@code Type=notify}) every
 * method does nothing and returns {@code false}. A message that cannot be sent is logged (the first
 * failure as a warning that names the cause, later ones at debug) and never thrown: the daemon goes on.
 * Thread-safe.
 */
public final class SystemdNotifier {
    /** Longest STATUS= text sent; systemd reads at most a pipe buffer (4096 bytes) per message. */
    static final int MAX_STATUS_CHARS = 400;
    /** {@code sizeof(sun_path)} on Linux. */
    private static final int SUN_PATH_MAX = 108;

    private final Optional<byte[]> address;
    private final String socketName;
    private final Optional<Duration> watchdogTimeout;
    private final Sender sender;
    private boolean warned; // guarded by this
    private long sent; // guarded by this

    /** The datagram send, apart from the protocol so that tests can watch it fail. */
    interface Sender {
        void send(byte[] sockaddr, byte[] message) throws Exception;
    }

    /** The notifier systemd set up for this process; does nothing when it set up none. */
    public static SystemdNotifier fromEnvironment() {
        return new SystemdNotifier(System.getenv(), ProcessHandle.current().pid(), LibcDatagram::send);
    }

    /** A notifier that sends nothing (commands other than the daemons, tests). */
    public static SystemdNotifier disabled() {
        return new SystemdNotifier(Map.of(), ProcessHandle.current().pid(), LibcDatagram::send);
    }

    /**
     * A notifier for the given environment ({@code NOTIFY_SOCKET}, {@code WATCHDOG_USEC},
     * {@code WATCHDOG_PID}) as seen by the process {@code pid}.
     */
    public static SystemdNotifier of(Map<String, String> environment, long pid) {
        return new SystemdNotifier(environment, pid, LibcDatagram::send);
    }

    SystemdNotifier(Map<String, String> environment, long pid, Sender sender) {
        this.sender = sender;
        String socket = environment.getOrDefault("NOTIFY_SOCKET", "");
        this.socketName = socket;
        this.address = socket.isEmpty() ? Optional.empty() : sockaddr(socket);
        this.watchdogTimeout = watchdog(environment, pid);
    }

    /**
     * The {@code struct sockaddr_un} for {@code name}, cut to its used length as {@code sd_notify}
     * does: family, then the path and its NUL, or a NUL and the abstract name (no NUL after it).
     */
    static Optional<byte[]> sockaddr(String name) {
        byte[] path;
        boolean abstractName = name.startsWith("@");
        if (abstractName) {
            path = name.substring(1).getBytes(StandardCharsets.UTF_8);
        } else if (name.startsWith("/")) {
            path = name.getBytes(StandardCharsets.UTF_8);
        } else {
            Logger.warn(
                    "NOTIFY_SOCKET={} is neither an absolute path nor @name (vsock: needs systemd-notify); "
                            + "systemd will not hear that the agent is ready: run it with Type=simple or from a newer agent",
                    name);
            return Optional.empty();
        }
        if (path.length + 1 > SUN_PATH_MAX || path.length == 0) {
            Logger.warn(
                    "NOTIFY_SOCKET={} is not a usable AF_UNIX address (empty or longer than {} bytes); "
                            + "systemd will not hear from the agent",
                    name,
                    SUN_PATH_MAX - 1);
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.allocate(2 + 1 + path.length).order(ByteOrder.nativeOrder());
        b.putShort((short) 1); // AF_UNIX
        if (abstractName) {
            b.put((byte) 0).put(path);
        } else {
            b.put(path).put((byte) 0);
        }
        return Optional.of(b.array());
    }

    /** The watchdog timeout systemd asks for, if it asks this process (sd_watchdog_enabled(3)). */
    private static Optional<Duration> watchdog(Map<String, String> environment, long pid) {
        String usec = environment.get("WATCHDOG_USEC");
        if (usec == null || usec.isBlank()) {
            return Optional.empty();
        }
        String forPid = environment.get("WATCHDOG_PID");
        try {
            if (forPid != null && !forPid.isBlank() && Long.parseLong(forPid.trim()) != pid) {
                return Optional.empty(); // meant for another process (e.g. the shell that exec'd us did not)
            }
            long micros = Long.parseLong(usec.trim());
            return micros > 0 ? Optional.of(Duration.ofNanos(micros * 1000)) : Optional.empty();
        } catch (NumberFormatException e) {
            Logger.warn(
                    "WATCHDOG_USEC={} / WATCHDOG_PID={} are not numbers; not pinging the systemd watchdog",
                    usec,
                    forPid);
            return Optional.empty();
        }
    }

    /** Whether systemd listens ({@code $NOTIFY_SOCKET} names a usable socket). */
    public boolean enabled() {
        return address.isPresent();
    }

    /**
     * How often to send {@link #watchdog()}: half of {@code WATCHDOG_USEC}, as sd_watchdog_enabled(3)
     * advises; empty when systemd runs no watchdog for this process or cannot hear us.
     */
    public Optional<Duration> watchdogInterval() {
        return address.isPresent() ? watchdogTimeout.map(t -> t.dividedBy(2)) : Optional.empty();
    }

    /** {@code READY=1}: start-up is done (the agent is connected, or buffering reports in its outbox). */
    public boolean ready() {
        return send("READY=1");
    }

    /** {@code READY=1} with a status line, in one message. */
    public boolean ready(String status) {
        return send("READY=1\nSTATUS=" + statusText(status));
    }

    /** {@code WATCHDOG=1}: the daemon is alive and making progress. */
    public boolean watchdog() {
        return send("WATCHDOG=1");
    }

    /** {@code STOPPING=1}: the daemon has begun to stop (flushing, disconnecting). */
    public boolean stopping() {
        return send("STOPPING=1");
    }

    /** {@code STATUS=...}: one line that {@code systemctl status} shows. Control characters become spaces. */
    public boolean status(String text) {
        return send("STATUS=" + statusText(text));
    }

    /**
     * Sends {@link #watchdog()} every {@link #watchdogInterval()} on {@code timer}, but only while
     * {@code progress} says the daemon is getting on with its work: when it stops doing so the pings
     * stop (with one warning naming it), and systemd restarts the service once {@code WatchdogSec=}
     * has passed without one. Does nothing (empty) when systemd runs no watchdog. The timer must not
     * be one of the threads whose progress is judged.
     */
    public Optional<ScheduledFuture<?>> startWatchdog(ScheduledExecutorService timer, BooleanSupplier progress) {
        Optional<Duration> every = watchdogInterval();
        if (every.isEmpty()) {
            return Optional.empty();
        }
        long millis = Math.max(1, every.get().toMillis());
        boolean[] stalled = {false};
        return Optional.of(timer.scheduleAtFixedRate(
                () -> {
                    boolean ok;
                    try {
                        ok = progress.getAsBoolean();
                    } catch (RuntimeException e) {
                        ok = false;
                        Logger.debug(e);
                    }
                    if (ok) {
                        if (stalled[0]) {
                            stalled[0] = false;
                            Logger.info("the agent makes progress again; pinging the systemd watchdog");
                        }
                        watchdog();
                    } else if (!stalled[0]) {
                        stalled[0] = true;
                        Logger.warn("the agent has made no progress lately: no more systemd watchdog pings, so systemd "
                                + "restarts it within WatchdogSec= unless it recovers");
                        status("stalled: no progress, waiting for the watchdog");
                    }
                },
                millis,
                millis,
                TimeUnit.MILLISECONDS));
    }

    /** What {@code $NOTIFY_SOCKET} said (empty when unset), for messages. */
    public String socketName() {
        return socketName;
    }

    /** Messages sent so far. */
    public synchronized long sent() {
        return sent;
    }

    static String statusText(String text) {
        StringBuilder b = new StringBuilder(Math.min(text.length(), MAX_STATUS_CHARS));
        for (int i = 0; i < text.length() && b.length() < MAX_STATUS_CHARS; i++) {
            char c = text.charAt(i);
            b.append(Character.isISOControl(c) ? ' ' : c);
        }
        return b.toString();
    }

    private synchronized boolean send(String message) {
        if (address.isEmpty()) {
            return false;
        }
        try {
            sender.send(address.get(), message.getBytes(StandardCharsets.UTF_8));
            sent++;
            return true;
        } catch (Exception | LinkageError e) {
            String why = describe(e);
            if (!warned) {
                warned = true;
                Logger.warn(
                        "cannot notify systemd at NOTIFY_SOCKET={} ({}): {}; with Type=notify systemd will stop "
                                + "the agent when start-up or the watchdog times out — see docs/OPERATIONS.md, troubleshooting",
                        socketName,
                        firstLine(message),
                        why);
            } else {
                Logger.debug("cannot notify systemd ({}): {}", firstLine(message), why);
            }
            return false;
        }
    }

    private static String firstLine(String message) {
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    private static String describe(Throwable e) {
        if (e instanceof LastErrorException le) {
            return switch (le.getErrorCode()) {
                case 2 -> "no such socket (ENOENT): systemd's socket is not visible to this process";
                case 13 -> "permission denied (EACCES) on the socket";
                case 111 -> "nobody listens on the socket (ECONNREFUSED)";
                case 11 -> "systemd's queue is full (EAGAIN)";
                case 1 -> "not permitted (EPERM): a seccomp filter or LSM refused socket() or sendto()";
                case 97 -> "AF_UNIX refused (EAFNOSUPPORT): RestrictAddressFamilies= must keep AF_UNIX";
                default -> "errno " + le.getErrorCode();
            };
        }
        if (e instanceof LinkageError) {
            return "JNA's native library did not load (" + e.getMessage() + "): its temporary directory must be "
                    + "writable and not mounted noexec";
        }
        return e.toString();
    }

    /** One datagram through libc: socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC), sendto, close — as sd_notify does. */
    static final class LibcDatagram {
        private static final int AF_UNIX = 1;
        private static final int SOCK_DGRAM = 2;
        private static final int SOCK_CLOEXEC = 0x80000;
        private static final int MSG_NOSIGNAL = 0x4000;

        private LibcDatagram() {}

        /** The few libc calls used; loaded on first use only. */
        interface LibC extends Library {
            int socket(int domain, int type, int protocol) throws LastErrorException;

            NativeLong sendto(int fd, byte[] buf, NativeLong len, int flags, byte[] addr, int addrlen)
                    throws LastErrorException;

            int close(int fd);
        }

        private static final class Holder {
            static final LibC LIBC = Native.load("c", LibC.class);
        }

        static void send(byte[] sockaddr, byte[] message) {
            LibC libc = Holder.LIBC;
            int fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            try {
                long n = libc.sendto(
                                fd, message, new NativeLong(message.length), MSG_NOSIGNAL, sockaddr, sockaddr.length)
                        .longValue();
                if (n != message.length) {
                    throw new IllegalStateException("sent " + n + " of " + message.length + " bytes");
                }
            } finally {
                libc.close(fd);
            }
        }
    }
}
