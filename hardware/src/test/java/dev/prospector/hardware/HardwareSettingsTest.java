package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.hardware.board.PowerSensorConfig;
import dev.prospector.hardware.io.IoConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HardwareSettingsTest {

    private static final Path DATA = Path.of("/var/lib/prospector");

    private static HardwareSettings parse(Map<String, String> config) {
        return HardwareSettings.parse(config, DATA, Clock.systemUTC());
    }

    private static String error(Map<String, String> config) {
        return assertThrows(IllegalArgumentException.class, () -> parse(config)).getMessage();
    }

    @Test
    void noSettingsGiveTheAutoBoardWithNothingFitted() {
        HardwareSettings s = parse(Map.of());
        assertEquals(BoardSelection.AUTO, s.board().selection());
        assertEquals(Path.of("/"), s.board().root());
        assertEquals(DATA, s.board().dataDir());
        assertEquals(Optional.empty(), s.board().powerSensor());
        assertEquals(IoConfig.none(), s.io());
    }

    @Test
    void everySettingIsRead() {
        HardwareSettings s = parse(Map.ofEntries(
                Map.entry("hardware.board", "emulated"),
                Map.entry("hardware.root", "/tmp/board"),
                Map.entry("hardware.interface", "wlan0"),
                Map.entry("hardware.read-timeout-ms", "250"),
                Map.entry("hardware.emulated.seed", "99"),
                Map.entry("hardware.emulated.faults", "link-down, disk-full"),
                Map.entry("hardware.power.chip", "INA226"),
                Map.entry("hardware.power.bus", "3"),
                Map.entry("hardware.power.address", "0x41"),
                Map.entry("hardware.power.shunt-ohms", "0.002"),
                Map.entry("hardware.led.pin", "17"),
                Map.entry("hardware.led.active-high", "false"),
                Map.entry("hardware.button.pin", "27"),
                Map.entry("hardware.button.pressed-high", "yes")));
        BoardConfig b = s.board();
        assertEquals(BoardSelection.EMULATED, b.selection());
        assertEquals(Path.of("/tmp/board"), b.root());
        assertEquals(Optional.of("wlan0"), b.networkInterface());
        assertEquals(Duration.ofMillis(250), b.readTimeout());
        assertEquals(99, b.seed());
        assertEquals(Set.of(Fault.LINK_DOWN, Fault.DISK_FULL), b.faults());
        assertEquals(
                Optional.of(new PowerSensorConfig(PowerSensorConfig.Chip.INA226, 3, 0x41, 0.002)), b.powerSensor());
        assertEquals(Optional.of(17), s.io().ledPin());
        assertEquals(false, s.io().ledActiveHigh());
        assertEquals(27, s.io().button().orElseThrow().pin());
        assertEquals(true, s.io().button().orElseThrow().pressedHigh());
    }

    @Test
    void aMisspelledKeyIsNamedWithTheKnownKeys() {
        String e = error(Map.of("hardware.led.pn", "17"));
        assertTrue(e.startsWith("unknown setting hardware.led.pn: the hardware settings are"), e);
        assertTrue(e.contains("hardware.led.pin"), e);
    }

    @Test
    void anUnknownFaultNamesTheKeyAndTheKnownFaults() {
        String e = error(Map.of("hardware.emulated.faults", "link-down,gremlins"));
        assertTrue(e.startsWith("hardware.emulated.faults: unknown fault 'gremlins': use one of"), e);
    }

    @Test
    void aBadSensorAddressNamesTheKeyAndTheRange() {
        String e = error(Map.of("hardware.power.chip", "ina219", "hardware.power.address", "0x80"));
        assertTrue(e.startsWith("hardware.power.address: "), e);
        assertTrue(e.contains("0x40 to 0x4f"), e);
    }

    @Test
    void sensorDetailsWithoutAChipAreRefused() {
        String e = error(Map.of("hardware.power.address", "0x41"));
        assertTrue(e.contains("set hardware.power.chip to ina219 or ina226"), e);
    }

    @Test
    void anUnknownChipIsNamed() {
        assertEquals(
                "hardware.power.chip: unknown power sensor chip 'ina3221': use ina219 or ina226",
                error(Map.of("hardware.power.chip", "ina3221")));
    }

    @Test
    void aPinOffTheHeaderIsNamed() {
        String e = error(Map.of("hardware.led.pin", "40"));
        assertTrue(e.startsWith("hardware.led.pin: status LED GPIO 40 is not on the header"), e);
    }

    @Test
    void aNonNumberIsNamed() {
        assertEquals(
                "hardware.read-timeout-ms: 'soon' is not a whole number (decimal, or hex with 0x)",
                error(Map.of("hardware.read-timeout-ms", "soon")));
    }

    @Test
    void aBadBoardIsNamedWithTheChoices() {
        assertEquals(
                "hardware.board: 'pi' is not a board: use auto, linux or emulated",
                error(Map.of("hardware.board", "pi")));
    }

    @Test
    void otherSectionsAreIgnored() {
        assertEquals(
                BoardSelection.AUTO,
                parse(Map.of("mqtt.url", "ssl://x:8883")).board().selection());
    }
}
