package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.Claims;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Measurement;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Report;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.UnavailableMeasurement;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.EmulatedBoard;
import dev.prospector.hardware.Fault;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each fault of the emulated board shows in the next signed report, none breaks the cycle, and the
 * verifier accepts every such report: a fault is a true condition, not an implausible claim. A
 * claim the board could not have measured (free space above capacity, a 300 °C SoC) is refused.
 */
class FaultsInReportsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Fault.class)
    void theFaultShowsInTheNextReport(Fault fault) throws Exception {
        Clock clock = Clock.systemUTC();
        ReportSigner signer = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
        ReportFactory factory = AgentWiring.reportFactory("f", AgentWiring.configHash("faults"), clock);
        try (EmulatedBoard board = new EmulatedBoard(BoardConfig.defaults(dir)
                .withSelection(BoardSelection.EMULATED)
                .withClock(clock)
                .withReadTimeout(Duration.ofMillis(300)))) {
            var verifier = new Appraiser(AppraiserConfig.defaults().withFleet("f"));
            byte[] first = signer.sign(factory.input(board.measure(), Optional.empty()))
                    .bytes();
            board.faults().on(fault);
            byte[] second = signer.sign(factory.input(board.measure(), Optional.empty()))
                    .bytes();
            Claims before = Report.decode(first).claims();
            Claims after = Report.decode(second).claims();
            assertEquals(before.seq() + 1, after.seq(), "the report cycle goes on");
            for (byte[] report : new byte[][] {first, second}) {
                var outcome = verifier.appraise(report);
                assertInstanceOf(Appraisal.Accepted.class, outcome, fault + ": " + outcome);
            }
            switch (fault) {
                case LINK_DOWN -> assertEquals(0, value(after, "net.link_up"));
                case DISK_FULL -> assertEquals(0, value(after, "storage.free"));
                case READ_ONLY_FS -> assertEquals(1, value(after, "storage.read_only"));
                case UNDER_VOLTAGE -> {
                    assertEquals(1, value(after, "under_voltage"));
                    assertTrue(value(after, "supply.voltage") < 4.7);
                }
                case THERMAL_THROTTLING -> {
                    assertTrue(value(after, "temperature") >= 80);
                    assertEquals(1, value(after, "throttled"));
                }
                case CLOCK_JUMP ->
                    assertTrue(Math.abs(value(after, "clock.step")) >= 60, "clock.step " + value(after, "clock.step"));
                case I2C_SENSOR_MISSING ->
                    assertTrue(
                            unavailable(after, "supply.voltage").contains("missing"),
                            unavailable(after, "supply.voltage"));
                case I2C_SENSOR_ERROR ->
                    assertTrue(
                            unavailable(after, "supply.voltage").contains("I/O error"),
                            unavailable(after, "supply.voltage"));
                case SLOW_SENSOR ->
                    assertTrue(
                            unavailable(after, "supply.voltage").contains("timed out"),
                            unavailable(after, "supply.voltage"));
                default -> throw new AssertionError("no expectation for fault " + fault + ": add one");
            }
        }
    }

    @Test
    void theVerifierRefusesWhatTheBoardCouldNotHaveMeasured() throws Exception {
        Clock clock = Clock.systemUTC();
        ReportFactory factory = AgentWiring.reportFactory("f", AgentWiring.configHash("faults"), clock);
        try (EmulatedBoard board = new EmulatedBoard(
                BoardConfig.defaults(dir).withSelection(BoardSelection.EMULATED).withClock(clock))) {
            var input = factory.input(board.measure(), Optional.empty());
            double total = value(input.measurements(), "storage.total");
            for (var lie : List.of(
                    new MeasurementClaim("storage.free", total + 1, "B", "emulated"),
                    new MeasurementClaim("temperature", 300, "Cel", "emulated"),
                    new MeasurementClaim("net.link_up", 2, "bool", "emulated"))) {
                var verifier = new Appraiser(AppraiserConfig.defaults().withFleet("f"));
                var signer = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                var outcome = verifier.appraise(signer.sign(replace(input, lie)).bytes());
                var rejected = assertInstanceOf(Appraisal.Rejected.class, outcome, lie.toString());
                assertEquals(ReasonCode.IMPLAUSIBLE, rejected.reason(), rejected.detail());
                assertTrue(rejected.detail().contains(lie.name()), rejected.detail());
            }
        }
    }

    /** {@code input} with the measurement of the same name as {@code m} replaced by {@code m}. */
    private static ReportInput replace(ReportInput input, MeasurementClaim m) {
        var ms = new ArrayList<Measurement>();
        for (var old : input.measurements()) {
            ms.add(name(old).equals(m.name()) ? m : old);
        }
        assertTrue(ms.contains(m), "the board measures " + m.name());
        return new ReportInput(
                input.fleet(),
                input.iat(),
                input.epoch(),
                input.nonce(),
                input.bootId(),
                input.uptime(),
                ms,
                input.softwareVersion(),
                input.configHash(),
                input.lost());
    }

    private static double value(List<Measurement> ms, String name) {
        return ms.stream()
                .filter(m -> name(m).equals(name))
                .map(MeasurementClaim.class::cast)
                .findFirst()
                .orElseThrow()
                .value();
    }

    private static Measurement find(Claims c, String name) {
        return c.measurements().stream()
                .filter(m -> name(m).equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no measurement " + name + " in the report"));
    }

    private static String name(Measurement m) {
        return m instanceof MeasurementClaim v ? v.name() : ((UnavailableMeasurement) m).name();
    }

    private static double value(Claims c, String name) {
        return assertInstanceOf(MeasurementClaim.class, find(c, name), name).value();
    }

    private static String unavailable(Claims c, String name) {
        return assertInstanceOf(UnavailableMeasurement.class, find(c, name), name)
                .reason();
    }
}
