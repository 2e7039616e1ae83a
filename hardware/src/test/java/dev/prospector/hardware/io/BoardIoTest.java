package dev.prospector.hardware.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import dev.prospector.hardware.MutableClock;
import dev.prospector.hardware.board.BoardInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** LED and button wired from config on the emulated board's mock Pi4J context. */
class BoardIoTest {

    private static final BoardInfo EMULATED = new BoardInfo("emulated", "Emulated Raspberry Pi 4", "aarch64", false);

    private final MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
    // Its ticks see the same hand-moved clock as the tests' own ticks, so they change nothing.
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final List<String> calls = new ArrayList<>();
    private BoardIo io;

    private final ButtonListener listener = new ButtonListener() {
        @Override
        public void reportNow() {
            calls.add("report");
        }

        @Override
        public void factoryReset(ResetScope scope) {
            calls.add("reset " + scope);
        }
    };

    @AfterEach
    void close() {
        if (io != null) {
            io.close();
        }
        scheduler.shutdownNow();
    }

    @Test
    void theLedStartsWithTheStartingPatternOnItsPin() {
        io = BoardIo.open(IoConfig.of(17, 27), EMULATED, clock, listener, scheduler);
        DigitalOutput pin = io.context().registry().get("status-led");
        assertEquals(17, pin.address().intValue());
        assertEquals(LedPattern.STARTING, io.led().orElseThrow().pattern());
        assertEquals(DigitalState.HIGH, pin.state());
    }

    @Test
    void aPressOnTheButtonPinReachesTheListener() {
        io = BoardIo.open(IoConfig.of(17, 27), EMULATED, clock, listener, scheduler);
        MockDigitalInput pin = io.context().registry().get("button");
        pin.mockState(DigitalState.LOW);
        clock.advance(Duration.ofMillis(200));
        io.button().orElseThrow().tick();
        pin.mockState(DigitalState.HIGH);
        clock.advance(Duration.ofMillis(200));
        io.button().orElseThrow().tick();
        assertEquals(List.of("report"), calls);
    }

    @Test
    void noConfigMeansNoLedAndNoButton() {
        io = BoardIo.open(IoConfig.none(), EMULATED, clock, listener, scheduler);
        assertTrue(io.led().isEmpty());
        assertTrue(io.button().isEmpty());
    }

    @Test
    void ledAndButtonOnOnePinAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IoConfig.of(17, 17));
        assertTrue(e.getMessage().contains("different pins"), e.getMessage());
    }
}
