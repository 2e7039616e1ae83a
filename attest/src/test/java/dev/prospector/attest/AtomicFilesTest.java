package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replacesAFileWholeAndLeavesNoTemporaryFileBehind() throws IOException {
        Path target = dir.resolve("chain.state");
        Files.writeString(target, "old");
        AtomicFiles.write(target, "new".getBytes(StandardCharsets.US_ASCII), AtomicFiles.OWNER_ONLY);
        assertEquals("new", Files.readString(target));
        assertEquals(List.of(target), files());
    }

    @Test
    void aSecretEndsReadableByItsOwnerOnly() throws IOException {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        Path target = dir.resolve("device.key");
        AtomicFiles.write(target, new byte[32], AtomicFiles.OWNER_ONLY);
        assertEquals(AtomicFiles.OWNER_ONLY, Files.getPosixFilePermissions(target));
    }

    @Test
    void streamedContentArrivesWhole() throws IOException {
        Path target = dir.resolve("outbox.journal");
        byte[] chunk = new byte[1 << 16];
        AtomicFiles.write(target, AtomicFiles.OWNER_ONLY, file -> {
            for (int i = 0; i < 8; i++) {
                Arrays.fill(chunk, (byte) i);
                file.write(ByteBuffer.wrap(chunk));
            }
        });
        byte[] read = Files.readAllBytes(target);
        assertEquals(8 << 16, read.length);
        assertArrayEquals(new byte[] {0, 7}, new byte[] {read[0], read[read.length - 1]});
    }

    @Test
    void aWriterThatFailsLeavesTheOldContentAndNoTemporaryFile() throws IOException {
        Path target = dir.resolve("key.pins");
        Files.writeString(target, "old");
        assertThrows(
                IOException.class,
                () -> AtomicFiles.write(target, AtomicFiles.OWNER_ONLY, file -> {
                    file.write(ByteBuffer.wrap("half".getBytes(StandardCharsets.US_ASCII)));
                    throw new IOException("disk full");
                }));
        assertEquals("old", Files.readString(target));
        assertEquals(List.of(target), files());
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
