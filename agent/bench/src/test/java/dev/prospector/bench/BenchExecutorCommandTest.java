package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ExitCodes;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** `prospector bench executor`: its targets decide the exit code; its tools are commands of their own. */
class BenchExecutorCommandTest {
    private record Result(int exit, String out, String err) {}

    private static Result execute(Object command, String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static final String[] SMALL = {"--accounts", "3000", "--txs", "300", "--repeats", "1", "--threads", "2"};

    @Test
    void aFigureBelowItsTargetSaysSoAndExitsWithCheckFailed() {
        var unreachable = new BenchExecutorCommand();
        unreachable.targets = new BenchExecutorCommand.Targets(1e12, 1e3, 1e3, 1e3);
        var r = execute(unreachable, SMALL);
        assertEquals(ExitCodes.CHECK_FAILED, r.exit(), r.out() + r.err());
        assertEquals(
                4, r.out().lines().filter(l -> l.endsWith(": BELOW TARGET")).count(), r.out());
        assertFalse(r.out().contains("STATE ROOTS DIFFER"), r.out());
    }

    @Test
    void everyTargetMetExitsZero() {
        var reachable = new BenchExecutorCommand();
        reachable.targets = new BenchExecutorCommand.Targets(0, 0, 0, 0);
        var r = execute(reachable, SMALL);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertFalse(r.out().contains("BELOW TARGET"), r.out());
        assertTrue(r.out().contains("(target >= 0)"), r.out());
    }

    @Test
    void theLedgerPagesFiguresComeFromSubcommands() {
        var phases = execute(new BenchExecutorCommand(), "phases", "--accounts", "2000", "--txs", "200");
        assertEquals(0, phases.exit(), phases.err());
        assertEquals(
                2 * PhaseProfile.MEASURED,
                phases.out().lines().filter(l -> l.contains("state root")).count(),
                phases.out());
        var compare =
                execute(new BenchExecutorCommand(), "compare", "--accounts", "2000", "--txs", "200", "--repeats", "1");
        assertEquals(0, compare.exit(), compare.err());
        assertEquals(
                9,
                compare.out().lines().filter(l -> l.startsWith("contention ")).count(),
                compare.out());
        var encoding = execute(new BenchExecutorCommand(), "encoding");
        assertEquals(0, encoding.exit(), encoding.err());
        assertTrue(encoding.out().startsWith("fixed: 157 bytes/tx"), encoding.out());
        assertTrue(encoding.out().contains("cbor:"), encoding.out());
    }
}
