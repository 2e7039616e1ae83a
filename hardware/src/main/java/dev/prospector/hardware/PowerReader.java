package dev.prospector.hardware;

import dev.prospector.hardware.board.PowerSensor;
import java.io.IOException;
import java.util.List;

/** Supply voltage, current and power from a {@link PowerSensor}. */
final class PowerReader {

    static final List<String> NAMES = List.of("supply.voltage", "supply.current", "supply.power");

    private final PowerSensor sensor;

    PowerReader(PowerSensor sensor) {
        this.sensor = sensor;
    }

    void read(Readings out) {
        String source = sensor.source();
        PowerSensor.PowerSample s;
        try {
            s = sensor.sample();
        } catch (IOException | RuntimeException e) {
            out.unavailable(NAMES, "sensor read failed: " + e.getMessage(), source);
            return;
        }
        if (!Double.isFinite(s.busVolts()) || !Double.isFinite(s.amps())) {
            out.unavailable(NAMES, "sensor returned no number", source);
            return;
        }
        out.value("supply.voltage", s.busVolts(), "V", source);
        out.value("supply.current", s.amps(), "A", source);
        out.value("supply.power", s.watts(), "W", source);
    }
}
