package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class EmulatedBoardTest {

    private final MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
    private EmulatedBoard board = open(42);

    private EmulatedBoard open(long seed) {
        return new EmulatedBoard(BoardConfig.defaults(Path.of("/var/lib/prospector"))
                .withSelection(BoardSelection.EMULATED)
                .withClock(clock)
                .withSeed(seed)
                .withReadTimeout(java.time.Duration.ofSeconds(5)));
    }

    @AfterEach
    void close() {
        board.close();
    }

    private static double value(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        return assertInstanceOf(Reading.Value.class, r, () -> name + " is " + r).value();
    }

    @Test
    void boardsOpensTheEmulatedBoardWhenAskedFor() {
        try (Board b = Boards.open(BoardConfig.defaults(Path.of("/tmp")).withSelection(BoardSelection.EMULATED))) {
            assertEquals("emulated", b.info().kind());
            assertInstanceOf(EmulatedBoard.class, b);
        }
    }

    @Test
    void uptimeAdvancesWithTheInjectedClock() {
        double before = value(board.measure(), "uptime");
        clock.advance(Duration.ofSeconds(90));
        assertEquals(before + 90, value(board.measure(), "uptime"), 1e-6);
    }

    @Test
    void networkCountersIncreaseOverTime() {
        Snapshot first = board.measure();
        clock.advance(Duration.ofMinutes(1));
        Snapshot second = board.measure();
        assertTrue(value(second, "net.rx") > value(first, "net.rx"));
        assertTrue(value(second, "net.tx") > value(first, "net.tx"));
    }

    @Test
    void freeSpaceVariesOverTime() {
        double first = value(board.measure(), "storage.free");
        clock.advance(Duration.ofMinutes(20));
        assertNotEquals(first, value(board.measure(), "storage.free"));
    }

    @Test
    void sameSeedAndClockGiveTheSameReadings() {
        EmulatedBoard twin = open(42);
        try {
            clock.advance(Duration.ofSeconds(37));
            assertEquals(board.measure().readings(), twin.measure().readings());
        } finally {
            twin.close();
        }
    }

    @Test
    void differentSeedsGiveDifferentBoards() {
        EmulatedBoard other = open(43);
        try {
            assertNotEquals(board.measure().bootId(), other.measure().bootId());
            assertNotEquals(value(board.measure(), "uptime"), value(other.measure(), "uptime"));
        } finally {
            other.close();
        }
    }

    @Test
    void everyDocumentedHeadlineMeasurementIsPresentInBaseUnits() {
        Snapshot s = board.measure();
        assertEquals("s", ((Reading.Value) s.reading("uptime").orElseThrow()).unit());
        assertEquals("B", ((Reading.Value) s.reading("storage.total").orElseThrow()).unit());
        assertEquals("B", ((Reading.Value) s.reading("storage.free").orElseThrow()).unit());
        assertEquals("B", ((Reading.Value) s.reading("net.rx").orElseThrow()).unit());
        assertEquals("B", ((Reading.Value) s.reading("net.tx").orElseThrow()).unit());
        assertEquals("Cel", ((Reading.Value) s.reading("temperature").orElseThrow()).unit());
    }

    @Test
    void autoNeverPicksTheEmulatedBoardOnAPiOrAnywhereElse() {
        assertEquals(BoardSelection.LINUX, Boards.resolve(BoardSelection.AUTO, Fixtures.root("pi-4")));
        Path x86 = Path.of("src/test/resources/no-such-root");
        assertEquals(BoardSelection.LINUX, Boards.resolve(BoardSelection.AUTO, x86));
        assertEquals(BoardSelection.EMULATED, Boards.resolve(BoardSelection.EMULATED, x86));
        try (Board b = Boards.open(BoardConfig.defaults(x86).withSelection(BoardSelection.AUTO))) {
            assertFalse(b instanceof EmulatedBoard, "auto opened the emulated board on a machine that is not a Pi");
        }
    }
}
