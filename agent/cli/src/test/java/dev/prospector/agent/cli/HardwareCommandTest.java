package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.common.Failure;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class HardwareCommandTest {

    /** The hardware module's committed board trees (this test runs in agent/). */
    private static final Path FIXTURES = Path.of("../../hardware/src/test/resources/fixtures");

    @TempDir
    Path dataDir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private Exception thrown;

    private int run(String... args) {
        CommandLine cli = new CommandLine(new HardwareCommand());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((ex, line, parse) -> {
            thrown = ex;
            return 99;
        });
        return cli.execute(args);
    }

    private CBORObject json(String... args) {
        assertEquals(0, run(args), () -> err + " / " + thrown);
        return CBORObject.FromJSONString(out.toString());
    }

    private static CBORObject measurement(CBORObject doc, String name) {
        for (CBORObject m : doc.get("measurements").getValues()) {
            if (m.get("name").AsString().equals(name)) {
                return m;
            }
        }
        throw new AssertionError("no measurement " + name + " in " + doc);
    }

    private String fixture(String board) {
        return FIXTURES.resolve(board).toAbsolutePath().toString();
    }

    @Test
    void jsonHasTheBoardAndEveryMeasurementOfAFixtureBoard() {
        CBORObject doc = json("--json", "--root", fixture("pi-4"), "--data-dir", dataDir.toString());
        assertEquals(2, doc.size());
        CBORObject board = doc.get("board");
        assertEquals("pi-4", board.get("kind").AsString());
        assertEquals("Raspberry Pi 4 Model B Rev 1.4", board.get("model").AsString());
        CBORObject uptime = measurement(doc, "uptime");
        assertEquals(1209684.91, uptime.get("value").AsDouble());
        assertEquals("s", uptime.get("unit").AsString());
        assertEquals("/proc/uptime", uptime.get("source").AsString());
        assertEquals(98765432109L, measurement(doc, "net.rx").get("value").AsInt64Value());
        assertEquals(48.312, measurement(doc, "temperature").get("value").AsDouble());
    }

    @Test
    void jsonGivesAnUnavailableMeasurementItsReasonAndNoValue() {
        CBORObject doc = json("--json", "--root", fixture("pi-zero-2-w"), "--data-dir", dataDir.toString());
        CBORObject speed = measurement(doc, "net.link_speed");
        assertEquals(2, speed.size());
        assertTrue(speed.get("unavailable").AsString().contains("wlan0/speed"), speed.toString());
    }

    @Test
    void everyFixtureBoardShowsTheHeadlineMeasurementsAsValues() {
        for (String board : new String[] {"pi-zero-2-w", "pi-4", "pi-5", "cm4"}) {
            out.getBuffer().setLength(0);
            CBORObject doc = json("--json", "--root", fixture(board), "--data-dir", dataDir.toString());
            for (String name :
                    new String[] {"uptime", "storage.total", "storage.free", "net.rx", "net.tx", "temperature"}) {
                CBORObject value = measurement(doc, name).get("value");
                assertTrue(value != null && value.isNumber(), board + " " + name + ": " + measurement(doc, name));
            }
        }
    }

    @Test
    void thisMachineIsReadForRealByDefault() throws Exception {
        CBORObject doc = json("--json", "--data-dir", dataDir.toString());
        String uptime = Files.readString(Path.of("/proc/uptime")).split(" ")[0];
        double measured = measurement(doc, "uptime").get("value").AsDouble();
        assertTrue(Math.abs(measured - Double.parseDouble(uptime)) < 60, measured + " vs " + uptime);
        assertEquals(
                Files.getFileStore(dataDir).getTotalSpace(),
                measurement(doc, "storage.total").get("value").AsInt64Value());
    }

    @Test
    void emulatedBoardShowsASwitchedOnFault() {
        CBORObject doc =
                json("--json", "--board", "emulated", "--fault", "link-down", "--data-dir", dataDir.toString());
        assertEquals("emulated", doc.get("board").get("kind").AsString());
        assertEquals(0, measurement(doc, "net.link_up").get("value").AsInt32Value());
    }

    @Test
    void tableHasABoardLineThenNameValueUnitSource() {
        assertEquals(0, run("--root", fixture("pi-5"), "--data-dir", dataDir.toString()));
        String[] lines = out.toString().split("\n");
        assertTrue(lines[0].startsWith("board: pi-5 (Raspberry Pi 5 Model B Rev 1.0, aarch64, sha2 yes)"), lines[0]);
        assertTrue(lines[1].matches("NAME +VALUE +UNIT +SOURCE"), lines[1]);
        assertTrue(out.toString().contains("\nuptime "), out.toString());
        assertTrue(
                out.toString().lines().anyMatch(l -> l.matches("uptime +352801\\.04 +s +/proc/uptime")),
                out.toString());
    }

    @Test
    void anUnknownBoardIsAUserErrorNamingTheChoices() {
        run("--board", "pi9");
        Failure e = assertInstanceOf(Failure.class, thrown);
        assertTrue(e.getMessage().contains("auto, linux or emulated"), e.getMessage());
    }

    @Test
    void aMissingRootIsAUserError() {
        run("--root", dataDir.resolve("nope").toString());
        assertInstanceOf(Failure.class, thrown);
    }

    @Test
    void aMissingDataDirIsAUserError() {
        run("--data-dir", dataDir.resolve("nope").toString());
        Failure e = assertInstanceOf(Failure.class, thrown);
        assertTrue(e.getMessage().startsWith("--data-dir"), e.getMessage());
    }

    @Test
    void anUnknownFaultIsAUserErrorListingTheKnownOnes() {
        run("--board", "emulated", "--fault", "gremlins");
        Failure e = assertInstanceOf(Failure.class, thrown);
        assertTrue(e.getMessage().contains("link-down"), e.getMessage());
    }

    @Test
    void faultsOnARealBoardAreRefused() {
        run("--fault", "disk-full");
        Failure e = assertInstanceOf(Failure.class, thrown);
        assertTrue(e.getMessage().contains("--board emulated"), e.getMessage());
    }

    @ParameterizedTest(name = "--fault {0} shows {1} = {2}")
    @CsvSource({
        "link-down,          net.link_up,       0",
        "disk-full,          storage.free,      0",
        "read-only-fs,       storage.read_only, 1",
        "under-voltage,      under_voltage,     1",
        "thermal-throttling, throttled,         1",
        "clock-jump,         clock.step,        3600",
        "i2c-sensor-missing, supply.voltage,    sensor missing",
        "i2c-sensor-error,   supply.current,    Remote I/O error",
        "slow-sensor,        supply.power,      timed out",
    })
    void everyEmulatedFaultShowsInTheJson(String fault, String name, String expected) {
        CBORObject m = measurement(
                json("--json", "--board", "emulated", "--fault", fault, "--data-dir", dataDir.toString()), name);
        if (m.ContainsKey("value")) {
            assertEquals(Long.parseLong(expected), m.get("value").AsInt64Value(), m::toString);
        } else {
            assertTrue(m.get("unavailable").AsString().contains(expected), m::toString);
        }
    }

    @Test
    void theTableShowsFirmwareFlagsInHexAsVcgencmdDoes() {
        assertEquals(0, run("--root", fixture("pi-zero-2-w"), "--data-dir", dataDir.toString()));
        assertTrue(
                out.toString().lines().anyMatch(l -> l.matches("throttle_flags +0x50000 +flags .*")), out.toString());
    }
}
