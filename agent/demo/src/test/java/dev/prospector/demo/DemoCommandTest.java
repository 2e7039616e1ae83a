package dev.prospector.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ProspectorCommand;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.agent.verifier.ServiceSettings;
import dev.prospector.attest.DeviceKeys;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code prospector demo} says before it starts anything; the demo itself: {@link DemoCommandIT}. */
class DemoCommandTest {
    @Test
    void tooShortDurationsAreOneLineWrittenAsTheUserWroteThem() {
        assertOneLineError(
                new String[] {"demo", "--duration", "500ms"}, "--duration 500ms is too short: use at least 1s");
        assertOneLineError(new String[] {"demo", "--interval", "0s"}, "--interval 0s is too short: use at least 100ms");
    }

    @Test
    void plotAndTestSizesOutOfRangeAreOneLine() {
        assertOneLineError(
                new String[] {"demo", "--plot-size", "1K"}, "--plot-size 1024 is out of range: use 0 (no plot) or 64K");
        assertOneLineError(
                new String[] {"demo", "--measure-bytes", "128M"}, "--measure-bytes 134217728 is out of range");
    }

    @Test
    void plotsShrinkWithManyBoardsSoThatPlottingEndsInTheFirstSeconds() {
        assertEquals(4L << 20, DemoCommand.plotPerBoard(4L << 20, 3));
        assertEquals(4L << 20, DemoCommand.plotPerBoard(4L << 20, 8));
        assertEquals(2L << 20, DemoCommand.plotPerBoard(4L << 20, 10), "32 MiB over 10 boards, a power of two");
        assertEquals(256L << 10, DemoCommand.plotPerBoard(4L << 20, 100));
        assertEquals(64L << 10, DemoCommand.plotPerBoard(4L << 20, 1000), "never below 64 KiB");
        assertEquals(4L << 20, DemoCommand.plotPerBoard(5L << 20, 1), "a power of two of leaves, as plotted");
        assertEquals(0, DemoCommand.plotPerBoard(0, 3), "no plot");
    }

    @Test
    void theVerifierAuditsAndTestsSeveralTimesInOneEpochCoveringTheRun() {
        byte[] key = DeviceKeys.generate().publicKey();
        ServiceSettings s = DemoCommand.proofSettings(Duration.ofSeconds(30), 4L << 20, key);
        assertEquals(Duration.ofSeconds(5), s.auditEvery());
        assertEquals(Duration.ofSeconds(7), s.bandwidthEvery(), "4 tests in 30 s: 2 are needed for a tier");
        assertTrue(s.epoch().compareTo(Duration.ofSeconds(30).plus(DemoCommand.PROOF_WAIT)) >= 0, s.toString());
        assertEquals(4L << 20, s.storageTarget(), "the plot earns the full storage share");
        assertEquals(1, s.trustedEndpoints().size());
        ServiceSettings slow = DemoCommand.proofSettings(Duration.ofSeconds(10), 0, key);
        assertEquals(Duration.ofSeconds(3), slow.auditEvery());
        assertEquals(Duration.ofSeconds(5), slow.bandwidthEvery());
        assertEquals(Duration.ofMinutes(1), slow.epoch(), "the shortest epoch a verifier takes");
    }

    @Test
    void aBoardLackingAProofIsNamedAndFailsTheDemo() {
        DemoCommand.Row good = row(95.2, 4L << 20, 800.5, 700.1, 1.0);
        assertEquals(List.of(), good.missingProofs(true));
        assertEquals(
                List.of("no storage proven (no plot)"),
                row(95.2, 0, 800.5, 700.1, 1.0).missingProofs(true));
        assertEquals(List.of(), row(95.2, 0, 800.5, 700.1, 1.0).missingProofs(false), "plots off: nothing to prove");
        assertEquals(
                List.of("no bandwidth figure"),
                row(95.2, 4L << 20, Double.NaN, Double.NaN, 1.0).missingProofs(true));
        assertEquals(List.of(), row(95.2, 4L << 20, Double.NaN, 3.0, 1.0).missingProofs(true), "one figure will do");
        assertEquals(
                List.of("audit reputation 0.774 below 0.80"),
                row(95.2, 4L << 20, 800.5, 700.1, 0.7738).missingProofs(true));
        assertEquals(
                List.of("no uptime credited"),
                row(0, 4L << 20, 800.5, 700.1, 1.0).missingProofs(true));
    }

    @Test
    void sizesAreWrittenAsPeopleReadThem() {
        assertEquals("0 B", DemoCommand.bytes(0));
        assertEquals("64 KiB", DemoCommand.bytes(64L << 10));
        assertEquals("4.0 MiB", DemoCommand.bytes(4L << 20));
        assertEquals("1.5 GiB", DemoCommand.bytes(3L << 29));
    }

    private static DemoCommand.Row row(double uptime, long storage, double down, double up, double reputation) {
        return new DemoCommand.Row(
                "dev",
                30,
                30,
                30,
                30,
                0,
                29,
                0,
                30,
                uptime,
                storage,
                down,
                up,
                reputation,
                0.9,
                5,
                4,
                PlotStore.Progress.OFF);
    }

    @Test
    void theDemoHasHelpWhenItsJarIsOnTheClassPath() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                new String[] {"demo", "--help"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, exit);
        assertTrue(
                out.toString(StandardCharsets.UTF_8).contains("Usage: prospector demo"),
                out.toString(StandardCharsets.UTF_8));
    }

    private static void assertOneLineError(String[] args, String mustMention) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                args,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, exit, text);
        assertEquals(1, text.lines().filter(l -> !l.isBlank()).count(), text);
        assertTrue(text.contains(mustMention), text);
    }
}
