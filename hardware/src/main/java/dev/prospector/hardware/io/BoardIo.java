package dev.prospector.hardware.io;

import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.gpio.digital.PullResistance;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import dev.prospector.hardware.board.BoardInfo;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import org.tinylog.Logger;

/**
 * The board's status LED and button on one Pi4J context: the native one on an ARM board, the
 * mock platform elsewhere (so the emulated board has a LED and a button too, which tests and
 * the demo drive through the mock's pins).
 */
public final class BoardIo implements AutoCloseable {

    private final Context context;
    private final Optional<StatusLed> led;
    private final Optional<Button> button;

    private BoardIo(Context context, Optional<StatusLed> led, Optional<Button> button) {
        this.context = context;
        this.led = led;
        this.button = button;
    }

    /**
     * Opens the LED and button the config names and starts their ticks on the scheduler.
     *
     * @throws IllegalStateException naming the pin and the fix, if a GPIO cannot be opened
     */
    public static BoardIo open(
            IoConfig config,
            BoardInfo board,
            Clock clock,
            ButtonListener listener,
            ScheduledExecutorService scheduler) {
        return open(config, Pi4jContexts.forBoard(board), Pi4jContexts.providers(board), clock, listener, scheduler);
    }

    /** As {@link #open(IoConfig, BoardInfo, Clock, ButtonListener, ScheduledExecutorService)}
     * on a given context (which the returned object shuts down). */
    public static BoardIo open(
            IoConfig config,
            Context context,
            Pi4jContexts.Providers providers,
            Clock clock,
            ButtonListener listener,
            ScheduledExecutorService scheduler) {
        Optional<StatusLed> led = Optional.empty();
        Optional<Button> button = Optional.empty();
        try {
            if (config.ledPin().isPresent()) {
                int pin = config.ledPin().get();
                DigitalOutput out = context.create(DigitalOutput.newConfigBuilder(context)
                        .id("status-led")
                        .name("Status LED")
                        .address(pin)
                        .initial(config.ledActiveHigh() ? DigitalState.LOW : DigitalState.HIGH)
                        .shutdown(config.ledActiveHigh() ? DigitalState.LOW : DigitalState.HIGH)
                        .provider(providers.digitalOutput()));
                StatusLed l = new StatusLed(out, clock, config.ledActiveHigh());
                l.show(LedPattern.STARTING);
                l.start(scheduler);
                led = Optional.of(l);
            }
            if (config.button().isPresent()) {
                ButtonConfig bc = config.button().get();
                DigitalInput in = context.create(DigitalInput.newConfigBuilder(context)
                        .id("button")
                        .name("Button")
                        .address(bc.pin())
                        .pull(bc.pressedHigh() ? PullResistance.PULL_DOWN : PullResistance.PULL_UP)
                        .provider(providers.digitalInput()));
                if (in instanceof MockDigitalInput mock) {
                    // The mock has no pull resistor: start it released, as the pull would.
                    mock.mockState(bc.pressedHigh() ? DigitalState.LOW : DigitalState.HIGH);
                }
                Button b = new Button(in, bc, clock, listener);
                b.start(scheduler);
                button = Optional.of(b);
            }
        } catch (RuntimeException e) {
            led.ifPresent(StatusLed::close);
            try {
                context.shutdown();
            } catch (RuntimeException ignored) {
                // already failing
            }
            throw new IllegalStateException(
                    "cannot open the status LED or button GPIO ("
                            + e.getMessage() + "): check the pin numbers and that the service user is in "
                            + "the gpio group",
                    e);
        }
        return new BoardIo(context, led, button);
    }

    public Optional<StatusLed> led() {
        return led;
    }

    public Optional<Button> button() {
        return button;
    }

    /** The Pi4J context (on the emulated board, its mock pins can be driven through it). */
    public Context context() {
        return context;
    }

    @Override
    public void close() {
        button.ifPresent(Button::close);
        led.ifPresent(StatusLed::close);
        try {
            context.shutdown();
        } catch (RuntimeException e) {
            Logger.debug(e, "Pi4J shutdown");
        }
    }
}
