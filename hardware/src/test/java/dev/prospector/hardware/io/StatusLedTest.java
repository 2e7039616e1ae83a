package dev.prospector.hardware.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutput;
import dev.prospector.hardware.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The status LED through Pi4J's mock platform, with the clock moved by hand. */
class StatusLedTest {

    private final Context pi4j = Pi4jContexts.mock();
    private final MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
    private final DigitalOutput pin = pi4j.create(DigitalOutput.newConfigBuilder(pi4j)
            .id("led")
            .address(17)
            .initial(DigitalState.LOW)
            .provider(Pi4jContexts.MOCK.digitalOutput()));
    private final StatusLed led = new StatusLed(pin, clock, true);

    @AfterEach
    void shutdown() {
        pi4j.shutdown();
    }

    /** The pin's level every {@code stepMillis} for {@code totalMillis}, as 1 and 0. */
    private String trace(long stepMillis, long totalMillis) {
        StringBuilder b = new StringBuilder();
        for (long t = 0; t < totalMillis; t += stepMillis) {
            led.tick();
            b.append(pin.state() == DigitalState.HIGH ? '1' : '0');
            clock.advance(Duration.ofMillis(stepMillis));
        }
        return b.toString();
    }

    @Test
    void theMockPinIsAPi4jMockOutput() {
        assertTrue(pin instanceof MockDigitalOutput);
    }

    @Test
    void startingBlinksSlowly() {
        led.show(LedPattern.STARTING);
        assertEquals("11110000" + "11110000", trace(125, 2000));
    }

    @Test
    void connectedIsOnWithAShortBlinkOffEveryThreeSeconds() {
        led.show(LedPattern.CONNECTED);
        String t = trace(100, 6000);
        assertEquals("1".repeat(29) + "0" + "1".repeat(29) + "0", t);
    }

    @Test
    void reportingFlickersFast() {
        led.show(LedPattern.REPORTING);
        assertEquals("1010101010", trace(100, 1000));
    }

    @Test
    void errorIsADoubleBlinkEveryTwoSeconds() {
        led.show(LedPattern.ERROR);
        String cycle = "101" + "0".repeat(10) + "00"; // 150 ms steps: on, off, on, 1550 ms off
        assertEquals(cycle.substring(0, 13), trace(150, 1950).substring(0, 13));
    }

    @Test
    void identifyStrobes() {
        led.show(LedPattern.IDENTIFY);
        assertEquals("10101010", trace(50, 400));
    }

    @Test
    void anOverlayShowsForItsTimeThenTheBasePatternReturns() {
        led.show(LedPattern.CONNECTED);
        led.showFor(LedPattern.IDENTIFY, Duration.ofSeconds(1));
        assertEquals(LedPattern.IDENTIFY, led.pattern());
        clock.advance(Duration.ofMillis(1001));
        assertEquals(LedPattern.CONNECTED, led.pattern());
    }

    @Test
    void anActiveLowLedIsLitByDrivingThePinLow() {
        StatusLed sink = new StatusLed(pin, clock, false);
        sink.show(LedPattern.CONNECTED);
        assertEquals(DigitalState.LOW, pin.state());
        sink.close();
        assertEquals(DigitalState.HIGH, pin.state());
    }

    @Test
    void closingTurnsTheLedOff() {
        led.show(LedPattern.CONNECTED);
        assertEquals(DigitalState.HIGH, pin.state());
        led.close();
        assertEquals(DigitalState.LOW, pin.state());
    }

    @Test
    void thePinIsWrittenOnlyWhenItsLevelChanges() {
        List<DigitalState> writes = new ArrayList<>();
        pin.addListener(e -> writes.add(e.state()));
        led.show(LedPattern.STARTING);
        for (int i = 0; i < 40; i++) {
            led.tick();
            clock.advance(Duration.ofMillis(25));
        }
        assertEquals(List.of(DigitalState.HIGH, DigitalState.LOW), writes);
    }

    @Test
    void patternsAreOffOutsideTheirOnSteps() {
        assertFalse(LedPattern.OFF.isOnAt(0));
        assertTrue(LedPattern.ERROR.isOnAt(300));
        assertFalse(LedPattern.ERROR.isOnAt(450));
        assertEquals(2000, LedPattern.ERROR.cycleMillis());
    }
}
