package dev.prospector.hardware.board;

import java.io.IOException;

/** A supply voltage and current monitor (an INA219 or INA226 on I2C, or an emulated one). */
public interface PowerSensor extends AutoCloseable {

    /** One sample: bus voltage and current. May block; the board bounds it with its timeout. */
    PowerSample sample() throws IOException;

    /** Where the sample comes from, e.g. {@code ina219 i2c-1 0x40}. */
    String source();

    @Override
    void close();

    /**
     * One sample.
     *
     * @param busVolts the supply voltage at the load side of the shunt, in V
     * @param amps the current through the shunt, in A (negative if it flows backwards)
     */
    record PowerSample(double busVolts, double amps) {
        public double watts() {
            return busVolts * amps;
        }
    }
}
