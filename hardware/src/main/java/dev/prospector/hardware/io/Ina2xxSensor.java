package dev.prospector.hardware.io;

import com.pi4j.io.i2c.I2C;
import dev.prospector.hardware.board.PowerSensor;
import dev.prospector.hardware.board.PowerSensorConfig;
import java.io.IOException;
import java.util.Locale;
import java.util.Objects;

/**
 * Supply voltage and current from a TI INA219 or INA226 through Pi4J I2C.
 *
 * <p>Current is computed from the shunt voltage register and the configured shunt, not from the
 * chip's calibrated current register: that needs no calibration write, so the driver only reads
 * and works whatever another program configured. Register values are big-endian 16-bit words.
 * <ul>
 * <li>INA219 (datasheet SBOS448): shunt voltage 0x01, signed, 10 µV/LSB; bus voltage 0x02,
 *     bits 15..3, 4 mV/LSB, bit 0 = math overflow (the current is beyond the shunt range).
 * <li>INA226 (datasheet SBOS547): shunt voltage 0x01, signed, 2.5 µV/LSB; bus voltage 0x02,
 *     1.25 mV/LSB; manufacturer id 0xFE = 0x5449 ("TI"), die id 0xFF = 0x2260, checked once.
 * </ul>
 */
public final class Ina2xxSensor implements PowerSensor {

    static final int REG_SHUNT = 0x01;
    static final int REG_BUS = 0x02;
    static final int REG_MANUFACTURER = 0xFE;
    static final int REG_DIE = 0xFF;
    static final int TI_MANUFACTURER_ID = 0x5449;
    static final int INA226_DIE_ID = 0x2260;

    static final double INA219_SHUNT_VOLTS_PER_LSB = 10e-6;
    static final double INA219_BUS_VOLTS_PER_LSB = 4e-3;
    static final double INA226_SHUNT_VOLTS_PER_LSB = 2.5e-6;
    static final double INA226_BUS_VOLTS_PER_LSB = 1.25e-3;

    private final I2C device;
    private final PowerSensorConfig config;
    private final String source;
    private final Object lock = new Object();
    // @GuardedBy("lock")
    private boolean identified;

    /**
     * @param device the chip's I2C device (Pi4J), which this sensor closes
     * @param config chip, bus, address and shunt
     */
    public Ina2xxSensor(I2C device, PowerSensorConfig config) {
        this.device = Objects.requireNonNull(device, "device");
        this.config = Objects.requireNonNull(config, "config");
        this.source = String.format(
                Locale.ROOT,
                "%s i2c-%d 0x%02x",
                config.chip().name().toLowerCase(Locale.ROOT),
                config.bus(),
                config.address());
    }

    @Override
    public PowerSample sample() throws IOException {
        synchronized (lock) {
            if (config.chip() == PowerSensorConfig.Chip.INA226 && !identified) {
                identify();
                identified = true;
            }
            int bus = word(REG_BUS);
            int shunt = (short) word(REG_SHUNT);
            return config.chip() == PowerSensorConfig.Chip.INA219
                    ? ina219(bus, shunt, config.shuntOhms())
                    : ina226(bus, shunt, config.shuntOhms());
        }
    }

    /** The INA219's bus and shunt registers as volts and amps. */
    static PowerSample ina219(int busRegister, int shuntRegister, double shuntOhms) throws IOException {
        if ((busRegister & 0x1) != 0) {
            throw new IOException("INA219 math overflow: the current is beyond the shunt's range");
        }
        double volts = (busRegister >>> 3) * INA219_BUS_VOLTS_PER_LSB;
        double amps = (short) shuntRegister * INA219_SHUNT_VOLTS_PER_LSB / shuntOhms;
        return new PowerSample(volts, amps);
    }

    /** The INA226's bus and shunt registers as volts and amps. */
    static PowerSample ina226(int busRegister, int shuntRegister, double shuntOhms) {
        double volts = (busRegister & 0x7FFF) * INA226_BUS_VOLTS_PER_LSB;
        double amps = (short) shuntRegister * INA226_SHUNT_VOLTS_PER_LSB / shuntOhms;
        return new PowerSample(volts, amps);
    }

    private void identify() throws IOException {
        int manufacturer = word(REG_MANUFACTURER);
        int die = word(REG_DIE);
        if (manufacturer != TI_MANUFACTURER_ID || die != INA226_DIE_ID) {
            throw new IOException(String.format(
                    Locale.ROOT,
                    "the device at %s is not an INA226 "
                            + "(manufacturer id 0x%04x, die id 0x%04x; expected 0x5449, 0x2260): check "
                            + "the chip and address in the config",
                    source,
                    manufacturer,
                    die));
        }
    }

    /** One big-endian 16-bit register. */
    private int word(int register) throws IOException {
        byte[] b = new byte[2];
        int n;
        try {
            n = device.readRegister(register, b, 0, 2);
        } catch (RuntimeException e) {
            // Pi4J reports bus errors (no device answering: "Remote I/O error") unchecked.
            throw new IOException(
                    String.format(Locale.ROOT, "reading register 0x%02x of %s: %s", register, source, e.getMessage()),
                    e);
        }
        if (n != 2) {
            throw new IOException(String.format(
                    Locale.ROOT,
                    "register 0x%02x of %s gave %d bytes, not 2 (sensor missing?)",
                    register,
                    source,
                    Math.max(n, 0)));
        }
        return ((b[0] & 0xFF) << 8) | (b[1] & 0xFF);
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public void close() {
        try {
            device.close();
        } catch (RuntimeException e) {
            // closing a device that is gone: nothing more to do
        }
    }
}
