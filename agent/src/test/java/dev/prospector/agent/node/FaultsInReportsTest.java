package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.ChainState;
import dev.prospector.attest.Claims;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Measurement;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.Report;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.UnavailableMeasurement;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.EmulatedBoard;
import dev.prospector.hardware.Fault;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** Each fault of the emulated board shows in the next signed report, and none breaks the cycle. */
class FaultsInReportsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Fault.class)
    void theFaultShowsInTheNextReport(Fault fault) throws Exception {
        Clock clock = Clock.systemUTC();
        ReportSigner signer = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
        ReportFactory factory = AgentWiring.reportFactory("f", AgentWiring.configHash("faults"), clock);
        try (EmulatedBoard board = new EmulatedBoard(BoardConfig.defaults(dir).withSelection(BoardSelection.EMULATED)
                .withClock(clock).withReadTimeout(Duration.ofMillis(300)))) {
            Claims before = Report.decode(signer.sign(factory.input(board.measure(), Optional.empty())).bytes()).claims();
            board.faults().on(fault);
            Claims after = Report.decode(signer.sign(factory.input(board.measure(), Optional.empty())).bytes()).claims();
            assertEquals(before.seq() + 1, after.seq(), "the report cycle goes on");
            switch (fault) {
                case LINK_DOWN -> assertEquals(0, value(after, "net_link_up"));
                case DISK_FULL -> assertEquals(0, value(after, "storage_free"));
                case READ_ONLY_FS -> assertEquals(1, value(after, "storage_read_only"));
                case UNDER_VOLTAGE -> {
                    assertEquals(1, value(after, "under_voltage"));
                    assertTrue(value(after, "supply_voltage") < 4.7);
                }
                case THERMAL_THROTTLING -> {
                    assertTrue(value(after, "temperature") >= 80);
                    assertEquals(1, value(after, "throttled"));
                }
                case CLOCK_JUMP -> assertTrue(Math.abs(value(after, "clock_step")) >= 60,
                        "clock_step " + value(after, "clock_step"));
                case I2C_SENSOR_MISSING -> assertTrue(unavailable(after, "supply_voltage").contains("missing"),
                        unavailable(after, "supply_voltage"));
                case I2C_SENSOR_ERROR -> assertTrue(unavailable(after, "supply_voltage").contains("I/O error"),
                        unavailable(after, "supply_voltage"));
                case SLOW_SENSOR -> assertTrue(unavailable(after, "supply_voltage").contains("timed out"),
                        unavailable(after, "supply_voltage"));
                default -> throw new AssertionError("no expectation for fault " + fault + ": add one");
            }
        }
    }

    private static Measurement find(Claims c, String name) {
        return c.measurements().stream().filter(m -> name(m).equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no measurement " + name + " in the report"));
    }

    private static String name(Measurement m) {
        return m instanceof MeasurementClaim v ? v.name() : ((UnavailableMeasurement) m).name();
    }

    private static double value(Claims c, String name) {
        return assertInstanceOf(MeasurementClaim.class, find(c, name), name).value();
    }

    private static String unavailable(Claims c, String name) {
        return assertInstanceOf(UnavailableMeasurement.class, find(c, name), name).reason();
    }
}
