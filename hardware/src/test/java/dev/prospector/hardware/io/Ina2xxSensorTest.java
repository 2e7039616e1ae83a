package dev.prospector.hardware.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.pi4j.context.Context;
import com.pi4j.io.i2c.I2C;
import com.pi4j.plugin.mock.provider.i2c.MockI2C;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.Boards;
import dev.prospector.hardware.LinuxBoard;
import dev.prospector.hardware.Reading;
import dev.prospector.hardware.Snapshot;
import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.board.PowerSensor;
import dev.prospector.hardware.board.PowerSensorConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * INA219 and INA226 register reads through Pi4J's mock I2C. The mock answers each register
 * read with the bytes queued for that register, so each test queues what the chip would send.
 */
class Ina2xxSensorTest {

    private final Context pi4j = Pi4jContexts.mock();
    private final MockI2C chip = (MockI2C) pi4j.create(I2C.newConfigBuilder(pi4j)
            .id("ina")
            .bus(1)
            .device(0x40)
            .provider(Pi4jContexts.MOCK.i2c())
            .build());

    @AfterEach
    void shutdown() {
        pi4j.shutdown();
    }

    private void queue(int register, int word) {
        chip.writeRegister(register, new byte[] {(byte) (word >> 8), (byte) word}, 0, 2);
    }

    private Ina2xxSensor sensor(PowerSensorConfig.Chip type) {
        return new Ina2xxSensor(chip, PowerSensorConfig.of(type));
    }

    @Test
    void ina219BusVoltageIsBits15To3At4Millivolts() throws IOException {
        queue(0x02, 0x2712); // 1250 << 3 | CNVR: 5.000 V
        queue(0x01, 0x0FA0); // 4000 x 10 µV = 40 mV over 0.1 Ω
        PowerSensor.PowerSample s = sensor(PowerSensorConfig.Chip.INA219).sample();
        assertEquals(5.000, s.busVolts(), 1e-9);
        assertEquals(0.4, s.amps(), 1e-9);
        assertEquals(2.0, s.watts(), 1e-9);
    }

    @Test
    void ina219FullScaleShuntRegistersFromTheDatasheet() throws IOException {
        // SBOS448 shunt voltage register examples at PGA /8: +320.00 mV = 0x7D00, -320.00 mV = 0x8300.
        assertEquals(3.2, Ina2xxSensor.ina219(0x2712, 0x7D00, 0.1).amps(), 1e-9);
        assertEquals(-3.2, Ina2xxSensor.ina219(0x2712, 0x8300, 0.1).amps(), 1e-9);
    }

    @Test
    void ina219OverflowIsAnErrorNotAReading() {
        queue(0x02, 0x2713); // OVF set
        queue(0x01, 0x7FFF);
        IOException e = assertThrows(
                IOException.class, () -> sensor(PowerSensorConfig.Chip.INA219).sample());
        assertTrue(e.getMessage().contains("overflow"), e.getMessage());
    }

    @Test
    void ina226IsIdentifiedThenReadAt1point25MillivoltsAnd2point5Microvolts() throws IOException {
        queue(0xFE, 0x5449);
        queue(0xFF, 0x2260);
        queue(0x02, 0x0FA0); // 4000 x 1.25 mV = 5.000 V
        queue(0x01, 0x7FFF); // 32767 x 2.5 µV = 81.9175 mV (full scale)
        PowerSensor.PowerSample s = sensor(PowerSensorConfig.Chip.INA226).sample();
        assertEquals(5.000, s.busVolts(), 1e-9);
        assertEquals(0.819175, s.amps(), 1e-9);
    }

    @Test
    void ina226NegativeFullScaleShunt() {
        assertEquals(-0.8192, Ina2xxSensor.ina226(0x0FA0, 0x8000, 0.1).amps(), 1e-9);
    }

    @Test
    void anotherChipAtTheIna226AddressIsRefusedWithItsIds() {
        queue(0xFE, 0x1234);
        queue(0xFF, 0x0000);
        IOException e = assertThrows(
                IOException.class, () -> sensor(PowerSensorConfig.Chip.INA226).sample());
        assertTrue(e.getMessage().contains("not an INA226 (manufacturer id 0x1234"), e.getMessage());
    }

    @Test
    void aSensorThatSendsNothingIsMissingNotZero() {
        IOException e = assertThrows(
                IOException.class, () -> sensor(PowerSensorConfig.Chip.INA219).sample());
        assertTrue(e.getMessage().contains("sensor missing"), e.getMessage());
    }

    @Test
    void theBoardShowsTheSensorsReadingsAsSupplyMeasurements() {
        queue(0x02, 0x27B2); // 1270 x 4 mV = 5.08 V
        queue(0x01, 0x1770); // 6000 x 10 µV / 0.1 Ω = 0.6 A
        try (Board board = new LinuxBoard(
                BoardConfig.defaults(Path.of("/tmp")).withRoot(Path.of("src/test/resources/fixtures/pi-4")),
                Optional.of(sensor(PowerSensorConfig.Chip.INA219)))) {
            Snapshot s = board.measure();
            assertEquals(5.08, value(s, "supply.voltage"), 1e-9);
            assertEquals(0.6, value(s, "supply.current"), 1e-9);
            assertEquals(3.048, value(s, "supply.power"), 1e-9);
            assertEquals(
                    "ina219 i2c-1 0x40",
                    s.reading("supply.voltage").orElseThrow().source());
        }
    }

    @Test
    void aSilentSensorMakesTheSupplyUnavailableOnTheBoard() {
        try (Board board = new LinuxBoard(
                BoardConfig.defaults(Path.of("/tmp")).withRoot(Path.of("src/test/resources/fixtures/pi-4")),
                Optional.of(sensor(PowerSensorConfig.Chip.INA219)))) {
            Reading r = board.measure().reading("supply.current").orElseThrow();
            assertInstanceOf(Reading.Unavailable.class, r);
        }
    }

    @Test
    void aConfiguredSensorOnThisX86HostUsesTheMockAndIsUnavailable() {
        try (Board board = Boards.open(BoardConfig.defaults(Path.of("/tmp"))
                .withSelection(BoardSelection.LINUX)
                .withRoot(Path.of("src/test/resources/fixtures/pi-5"))
                .withPowerSensor(PowerSensorConfig.of(PowerSensorConfig.Chip.INA226)))) {
            Reading r = board.measure().reading("supply.voltage").orElseThrow();
            assertInstanceOf(Reading.Unavailable.class, r, r::toString);
            assertEquals("ina226 i2c-1 0x40", r.source());
        }
    }

    @Test
    void aPiFixtureReadOnX86NeverSelectsTheNativePlugins() {
        String jvmArch = System.getProperty("os.arch");
        assumeFalse(jvmArch.equals("aarch64") || jvmArch.startsWith("arm"), "runs on x86 only");
        BoardInfo pi5 = Boards.detect(Path.of("src/test/resources/fixtures/pi-5"));
        assertEquals("pi-5", pi5.kind());
        assertFalse(Pi4jContexts.usesNative(pi5));
        assertEquals(Pi4jContexts.MOCK, Pi4jContexts.providers(pi5));
    }

    @Test
    void theEmulatedBoardNeverSelectsTheNativePlugins() {
        assertEquals(
                Pi4jContexts.MOCK, Pi4jContexts.providers(new BoardInfo("emulated", "Emulated", "aarch64", false)));
    }

    private static double value(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow();
        return assertInstanceOf(Reading.Value.class, r, r::toString).value();
    }
}
