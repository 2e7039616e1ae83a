package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.hardware.board.BoardInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoardDetectorTest {

    @Test
    void piZero2WIsDetectedFromItsDeviceTreeModel() {
        BoardInfo info = Boards.detect(Fixtures.root("pi-zero-2-w"));
        assertEquals(new BoardInfo("pi-zero-2-w", "Raspberry Pi Zero 2 W Rev 1.0", "aarch64", false), info);
    }

    @Test
    void pi4IsDetectedAndHasNoSha2Extensions() {
        // The BCM2711 was built without the ARMv8 crypto extensions: cpuinfo lists no sha2.
        BoardInfo info = Boards.detect(Fixtures.root("pi-4"));
        assertEquals(new BoardInfo("pi-4", "Raspberry Pi 4 Model B Rev 1.4", "aarch64", false), info);
    }

    @Test
    void pi5IsDetectedWithSha2Extensions() {
        BoardInfo info = Boards.detect(Fixtures.root("pi-5"));
        assertEquals(new BoardInfo("pi-5", "Raspberry Pi 5 Model B Rev 1.0", "aarch64", true), info);
    }

    @Test
    void modelNamesMapToKinds() {
        assertEquals("pi-3", BoardDetector.kind("Raspberry Pi 3 Model B Plus Rev 1.3", "aarch64"));
        assertEquals("cm4", BoardDetector.kind("Raspberry Pi Compute Module 4 Rev 1.1", "aarch64"));
        assertEquals("pi-4", BoardDetector.kind("Raspberry Pi 400 Rev 1.1", "aarch64"));
        assertEquals("pi-5", BoardDetector.kind("Raspberry Pi 500 Rev 1.0", "aarch64"));
        assertEquals("arm", BoardDetector.kind("Raspberry Pi Zero W Rev 1.1", "armv6l"));
        assertEquals("arm", BoardDetector.kind("Radxa ROCK 5B", "aarch64"));
        assertEquals("linux", BoardDetector.kind("", "x86_64"));
    }

    @Test
    void a32BitPiKernelWithoutDeviceTreeIsDetectedFromCpuinfoModel(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(
                root.resolve("proc/cpuinfo"),
                "processor\t: 0\n"
                        + "model name\t: ARMv7 Processor rev 4 (v7l)\nBogoMIPS\t: 38.40\n"
                        + "Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 "
                        + "lpae evtstrm crc32 \nCPU implementer\t: 0x41\nCPU architecture: 7\n\n"
                        + "Hardware\t: BCM2835\nRevision\t: a02082\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n");
        assertEquals(new BoardInfo("pi-3", "Raspberry Pi 3 Model B Rev 1.2", "armv7l", false), Boards.detect(root));
    }

    @Test
    void anX86HostIsLinuxAndReportsShaNi(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(
                root.resolve("proc/cpuinfo"),
                "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                        + "cpu family\t: 6\nmodel\t\t: 207\n"
                        + "model name\t: Intel(R) Xeon(R) Processor\n"
                        + "flags\t\t: fpu vme de pse tsc msr pae lm sse4_2 avx2 sha_ni\n\n");
        BoardInfo info = Boards.detect(root);
        assertEquals("linux", info.kind());
        assertEquals("x86_64", info.arch());
        assertTrue(info.sha2Extensions());
        assertEquals("Intel(R) Xeon(R) Processor", info.model());
    }

    @Test
    void anEmptyRootIsDescribedNotThrown(@TempDir Path root) {
        BoardInfo info = Boards.detect(root);
        assertFalse(info.isRaspberryPi());
        assertFalse(info.model().isEmpty());
    }
}
