package dev.prospector.hardware.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.gpio.digital.PullResistance;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import dev.prospector.hardware.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The button through Pi4J's mock platform: pin levels set on the mock, time moved by hand. */
class ButtonTest {

    private final Context pi4j = Pi4jContexts.mock();
    private final MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
    private final MockDigitalInput pin = (MockDigitalInput) pi4j.create(DigitalInput.newConfigBuilder(pi4j)
            .id("button")
            .address(27)
            .pull(PullResistance.PULL_UP)
            .provider(Pi4jContexts.MOCK.digitalInput()));
    private final List<String> calls = new ArrayList<>();
    private Button button;

    private Button button() {
        pin.mockState(DigitalState.HIGH); // released: pulled up
        button = new Button(pin, ButtonConfig.of(27), clock, new ButtonListener() {
            @Override
            public void reportNow() {
                calls.add("report");
            }

            @Override
            public void factoryReset(ResetScope scope) {
                calls.add("reset " + scope);
            }
        });
        return button;
    }

    @AfterEach
    void shutdown() {
        if (button != null) {
            button.close();
        }
        pi4j.shutdown();
    }

    private void press() {
        pin.mockState(DigitalState.LOW);
    }

    private void release() {
        pin.mockState(DigitalState.HIGH);
    }

    /** Moves the clock in 20 ms ticks, as the scheduler would. */
    private void hold(Duration d) {
        for (long t = 0; t < d.toMillis(); t += 20) {
            clock.advance(Duration.ofMillis(20));
            button.tick();
        }
    }

    @Test
    void aShortPressAsksForAReportNow() {
        button();
        press();
        hold(Duration.ofMillis(300));
        release();
        hold(Duration.ofMillis(100));
        assertEquals(List.of("report"), calls);
    }

    @Test
    void contactBounceShorterThanTheDebounceIsIgnored() {
        button();
        for (int i = 0; i < 5; i++) {
            press();
            clock.advance(Duration.ofMillis(3));
            release();
            clock.advance(Duration.ofMillis(3));
        }
        hold(Duration.ofMillis(200));
        assertEquals(List.of(), calls);
        assertFalse(button.isPressed());
    }

    @Test
    void aBouncyPressCountsOnce() {
        button();
        press();
        clock.advance(Duration.ofMillis(2));
        release();
        clock.advance(Duration.ofMillis(2));
        press();
        hold(Duration.ofMillis(200));
        assertTrue(button.isPressed());
        release();
        clock.advance(Duration.ofMillis(2));
        press();
        clock.advance(Duration.ofMillis(2));
        release();
        hold(Duration.ofMillis(200));
        assertEquals(List.of("report"), calls);
    }

    @Test
    void holdingTenSecondsAsksForAChainStateResetWhileStillHeld() {
        button();
        press();
        hold(Duration.ofMillis(9_900));
        assertEquals(List.of(), calls);
        hold(Duration.ofMillis(200));
        assertEquals(List.of("reset CHAIN_STATE"), calls);
    }

    @Test
    void releasingALongPressSendsNoReport() {
        button();
        press();
        hold(Duration.ofSeconds(11));
        release();
        hold(Duration.ofMillis(100));
        assertEquals(List.of("reset CHAIN_STATE"), calls);
    }

    @Test
    void aLongPressNeverResetsTheKeyOnItsOwn() {
        button();
        press();
        hold(Duration.ofSeconds(30));
        release();
        hold(Duration.ofMillis(100));
        assertEquals(List.of("reset CHAIN_STATE"), calls);
    }

    @Test
    void aSecondLongPressWithinTheWindowConfirmsTheKeyReset() {
        button();
        press();
        hold(Duration.ofSeconds(10));
        release();
        hold(Duration.ofSeconds(2));
        press();
        hold(Duration.ofSeconds(10));
        assertEquals(List.of("reset CHAIN_STATE", "reset CHAIN_STATE_AND_KEY"), calls);
    }

    @Test
    void aSecondLongPressAfterTheWindowIsAFreshChainStateReset() {
        button();
        press();
        hold(Duration.ofSeconds(10));
        release();
        clock.advance(Duration.ofSeconds(40));
        press();
        hold(Duration.ofSeconds(10));
        assertEquals(List.of("reset CHAIN_STATE", "reset CHAIN_STATE"), calls);
    }

    @Test
    void aLongPressTheTicksMissedStillCountsAsLongWhenReleased() {
        button();
        press();
        clock.advance(Duration.ofSeconds(12));
        release();
        hold(Duration.ofMillis(100));
        assertEquals(List.of("reset CHAIN_STATE"), calls);
    }

    @Test
    void aButtonHeldAtStartUpNeverAsksForAReset() {
        pin.mockState(DigitalState.LOW);
        button = new Button(pin, ButtonConfig.of(27), clock, new ButtonListener() {
            @Override
            public void reportNow() {
                calls.add("report");
            }

            @Override
            public void factoryReset(ResetScope scope) {
                calls.add("reset " + scope);
            }
        });
        hold(Duration.ofSeconds(15));
        assertEquals(List.of(), calls);
    }

    @Test
    void aThrowingListenerDoesNotBreakTheButton() {
        pin.mockState(DigitalState.HIGH);
        button = new Button(pin, ButtonConfig.of(27), clock, new ButtonListener() {
            @Override
            public void reportNow() {
                calls.add("report");
                throw new IllegalStateException("agent busy");
            }

            @Override
            public void factoryReset(ResetScope scope) {}
        });
        for (int i = 0; i < 2; i++) {
            press();
            hold(Duration.ofMillis(200));
            release();
            hold(Duration.ofMillis(200));
        }
        assertEquals(List.of("report", "report"), calls);
    }

    @Test
    void aPinOutsideTheHeaderIsRefusedWithTheRange() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> ButtonConfig.of(40));
        assertTrue(e.getMessage().contains("0 to 27"), e.getMessage());
    }
}
