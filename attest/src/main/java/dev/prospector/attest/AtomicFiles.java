package dev.prospector.attest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Crash-safe file replacement: write a temporary file in the same directory (created with its
 * final permissions, so a secret is never briefly world-readable), fsync it, rename it over the
 * target, fsync the directory. After a crash at any point the target holds either the old or the
 * new content, never a mixture. A file system without atomic rename is refused
 * ({@link java.nio.file.AtomicMoveNotSupportedException}), never replaced in two steps.
 */
public final class AtomicFiles {
    /** {@code rw-------}: keys, secrets and state that only the service's user reads. */
    public static final Set<PosixFilePermission> OWNER_ONLY = Set.copyOf(PosixFilePermissions.fromString("rw-------"));
    /** {@code rw-r--r--}: public keys and other files anyone may read. */
    public static final Set<PosixFilePermission> WORLD_READABLE =
            Set.copyOf(PosixFilePermissions.fromString("rw-r--r--"));

    /** Writes the new content into the temporary file; the caller neither forces nor closes it. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel file) throws IOException;
    }

    private AtomicFiles() {}

    /** Replaces {@code target} with {@code content}, which then has {@code permissions} (on POSIX). */
    public static void write(Path target, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        write(target, permissions, file -> {
            var buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                file.write(buf);
            }
        });
    }

    /**
     * Replaces {@code target} with what {@code content} writes, streamed (a compacted journal need
     * not fit in memory). If {@code content} throws, the target is untouched and the temporary
     * file is removed.
     */
    public static void write(Path target, Set<PosixFilePermission> permissions, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        Path tmp = posix
                ? Files.createTempFile(
                        dir, "." + target.getFileName(), ".tmp", PosixFilePermissions.asFileAttribute(permissions))
                : Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
        try {
            try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                content.writeTo(ch);
                ch.force(true);
            }
            if (posix) {
                Files.setPosixFilePermissions(tmp, permissions); // umask may have narrowed them
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        fsyncDirectory(dir);
    }

    /** Forces a directory's entries (a rename, a new link) to the device, where the platform can. */
    public static void fsyncDirectory(Path dir) {
        try (var ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every platform can fsync a directory; the rename itself is still atomic.
        }
    }
}
