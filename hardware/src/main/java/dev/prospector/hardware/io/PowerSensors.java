package dev.prospector.hardware.io;

import com.pi4j.context.Context;
import com.pi4j.io.i2c.I2C;
import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.board.PowerSensor;
import dev.prospector.hardware.board.PowerSensorConfig;
import java.io.IOException;
import java.util.Locale;
import org.tinylog.Logger;

/** Opens the configured INA219/INA226 on the board's I2C bus. */
public final class PowerSensors {

    private PowerSensors() {}

    /**
     * The sensor, reading through a Pi4J context of its own (closed with it). Never throws: if
     * the bus cannot be opened (I2C not enabled, no permission), the sensor it returns reports
     * that reason on every sample, so the board's supply readings say what to fix.
     */
    public static PowerSensor open(PowerSensorConfig config, BoardInfo board) {
        Context context;
        try {
            context = Pi4jContexts.forBoard(board);
        } catch (RuntimeException | LinkageError e) {
            Logger.warn(e, "Pi4J could not start; the power sensor is unavailable");
            return failed(config, "Pi4J could not start: " + e.getMessage());
        }
        try {
            I2C device = context.create(I2C.newConfigBuilder(context)
                    .id(String.format(Locale.ROOT, "power-sensor-%d-%02x", config.bus(), config.address()))
                    .bus(config.bus())
                    .device(config.address())
                    .provider(Pi4jContexts.providers(board).i2c()));
            return new OwningSensor(new Ina2xxSensor(device, config), context);
        } catch (RuntimeException e) {
            shutdown(context);
            return failed(
                    config,
                    "cannot open /dev/i2c-" + config.bus() + " (" + e.getMessage()
                            + "): enable I2C (raspi-config nonint do_i2c 0) and add the service user to "
                            + "the i2c group");
        }
    }

    private static PowerSensor failed(PowerSensorConfig config, String reason) {
        String source = String.format(
                Locale.ROOT,
                "%s i2c-%d 0x%02x",
                config.chip().name().toLowerCase(Locale.ROOT),
                config.bus(),
                config.address());
        return new PowerSensor() {
            @Override
            public PowerSample sample() throws IOException {
                throw new IOException(reason);
            }

            @Override
            public String source() {
                return source;
            }

            @Override
            public void close() {}
        };
    }

    private static void shutdown(Context context) {
        try {
            context.shutdown();
        } catch (RuntimeException e) {
            Logger.debug(e, "Pi4J shutdown");
        }
    }

    /** A sensor that shuts its Pi4J context down when closed. */
    private static final class OwningSensor implements PowerSensor {
        private final PowerSensor sensor;
        private final Context context;

        OwningSensor(PowerSensor sensor, Context context) {
            this.sensor = sensor;
            this.context = context;
        }

        @Override
        public PowerSample sample() throws IOException {
            return sensor.sample();
        }

        @Override
        public String source() {
            return sensor.source();
        }

        @Override
        public void close() {
            sensor.close();
            shutdown(context);
        }
    }
}
