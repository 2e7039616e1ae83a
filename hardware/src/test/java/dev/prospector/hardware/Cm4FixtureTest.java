package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.prospector.hardware.board.BoardInfo;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CM4 tree: eMMC (which, unlike SD cards, reports its wear), a root mounted read-only as
 * /dev/root (older Pi OS; the partition comes from the kernel command line's PARTUUID) and two
 * default routes, Ethernet preferred by metric.
 */
class Cm4FixtureTest {

    @TempDir
    Path dataDir;

    private Board board;
    private Snapshot snapshot;

    @BeforeEach
    void measure() {
        board = new LinuxBoard(BoardConfig.defaults(dataDir).withRoot(Fixtures.root("cm4")), Optional.empty());
        snapshot = board.measure();
    }

    @AfterEach
    void close() {
        board.close();
    }

    private Reading.Value value(String name) {
        Reading r = snapshot.reading(name).orElseThrow();
        return assertInstanceOf(Reading.Value.class, r, r::toString);
    }

    @Test
    void isDetectedAsACm4WithoutSha2() {
        assertEquals(new BoardInfo("cm4", "Raspberry Pi Compute Module 4 Rev 1.1", "aarch64", false), board.info());
    }

    @Test
    void emmcIsFoundBehindDevRootThroughThePartuuidLink() {
        assertEquals(2.0, value("storage.kind").value());
        assertEquals("/sys/block/mmcblk0 (emmc)", value("storage.kind").source());
        assertEquals(1402112 * 512.0, value("storage.written").value());
    }

    @Test
    void emmcWearIsTheWorseOfTypeAAndBInTenPercentSteps() {
        assertEquals(20.0, value("storage.life_used").value());
        assertEquals("%", value("storage.life_used").unit());
        assertEquals(1.0, value("storage.pre_eol").value());
    }

    @Test
    void aRootMountedReadOnlyIsReported() {
        assertEquals(1.0, value("storage.read_only").value());
    }

    @Test
    void theDefaultRouteWithTheLowestMetricWins() {
        assertEquals("/sys/class/net/eth0/statistics/rx_bytes", value("net.rx").source());
        assertEquals(1e8, value("net.link_speed").value());
    }
}
