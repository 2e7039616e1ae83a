package dev.prospector.agent.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One process per state directory: an exclusive {@link FileLock} on the file {@code lock} in it,
 * held for as long as the process uses the directory. Two processes appending to the same logs
 * would each believe its own view of what was accepted (or sent) and corrupt the other's; the lock
 * turns that mistake (a second unit, a manual run beside the service) into one clear refusal.
 *
 * <p>The lock is the kernel's ({@code fcntl}), so it goes away with its process, even after
 * SIGKILL or a power cut: a stale lock file never blocks a restart. The holder writes its PID
 * into the file so that the refusal can name it. The file itself is never deleted (deleting it
 * would let a third process lock a new file while the second still holds the old one).
 *
 * <p>Within one JVM the directories held are also kept in a set, checked before the file is even
 * opened: on Linux, closing any descriptor of a file drops every {@code fcntl} lock the process has
 * on it, so a second attempt from this process must not open (and close) the lock file.
 *
 * <p>Take it before reading anything else in the directory.
 */
public final class StateDirLock implements AutoCloseable {
    /** The lock file's name in the directory. */
    public static final String FILE = "lock";

    /** Real paths of the directories this JVM holds. */
    private static final java.util.Set<Path> HELD = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path dir;
    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private StateDirLock(Path dir, Path key, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** Another process (or this one, elsewhere) holds the directory; the message names its PID and the directory. */
    public static final class HeldException extends IOException {
        private static final long serialVersionUID = 1L;
        private final transient Path dir;
        private final String holder;

        HeldException(String message, Path dir, String holder) {
            super(message);
            this.dir = dir;
            this.holder = holder;
        }

        public Path dir() {
            return dir;
        }

        /** The PID written by the holder, or "unknown" when it could not be read. */
        public String holderPid() {
            return holder;
        }
    }

    /**
     * Creates {@code dir} if needed and locks it for this process.
     *
     * @param what what uses the directory, for the message (e.g. "verifier state dir")
     * @throws HeldException when another process holds it (at once: never waits)
     * @throws IOException when the directory or its lock file cannot be created or opened
     */
    public static StateDirLock acquire(Path dir, String what) throws HeldException, IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        Path key = dir.toRealPath();
        if (!HELD.add(key)) {
            throw held(what, dir, file, Long.toString(ProcessHandle.current().pid()));
        }
        FileChannel channel;
        FileLock lock;
        try {
            channel = FileChannel.open(
                    file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            HELD.remove(key);
            throw e;
        }
        try {
            lock = channel.tryLock();
        } catch (IOException | RuntimeException e) {
            HELD.remove(key);
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = readPid(channel);
            HELD.remove(key);
            channel.close();
            throw held(what, dir, file, holder);
        }
        try {
            byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(pid), 0);
            channel.force(false);
        } catch (IOException e) {
            HELD.remove(key);
            lock.release();
            channel.close();
            throw e;
        }
        return new StateDirLock(dir, key, channel, lock);
    }

    private static HeldException held(String what, Path dir, Path file, String holder) {
        return new HeldException(
                what + " " + dir + " is in use by process " + holder + " (it holds " + file
                        + "); stop that process first, or give this one another directory",
                dir,
                holder);
    }

    private static String readPid(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            channel.read(b, 0);
            String text = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            return text.matches("\\d{1,19}") ? text : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    public Path dir() {
        return dir;
    }

    /** Releases the lock (the file stays). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if (lock.isValid()) {
                lock.release();
            }
            channel.close();
        } catch (IOException e) {
            // The kernel drops the lock with the descriptor anyway.
        } finally {
            HELD.remove(key);
        }
    }
}
