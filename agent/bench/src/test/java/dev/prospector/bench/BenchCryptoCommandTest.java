package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.common.Failure;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchCryptoCommandTest {
    private record Result(int exit, String out, String err) {}

    private static Result execute(String... args) {
        return execute(new BenchCryptoCommand(), args);
    }

    private static Result execute(BenchCryptoCommand command, String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void jsonIsOneObjectWithTheFourRates() {
        var r = execute("--json", "--seconds", "0.2");
        var json = CBORObject.FromJSONString(r.out().trim());
        // A short run on a busy machine may miss the target: the exit code then says so, and only then.
        assertEquals(json.get("target_met").AsBoolean() ? 0 : ExitCodes.CHECK_FAILED, r.exit(), r.err());
        for (String field : new String[] {
            "sign_per_s", "verify_per_s_one_core", "verify_per_s_all_cores", "appraisals_per_s_all_cores"
        }) {
            assertTrue(json.ContainsKey(field), field + " missing in " + r.out());
            assertTrue(json.get(field).AsNumber().ToInt64Checked() > 0, field + " not positive in " + r.out());
        }
        assertEquals(
                0, json.get("appraisals_rejected").AsInt32Value(), "every benchmark report is genuine: " + r.out());
    }

    @Test
    void theTableNamesEachFigureAndTheTarget() {
        var r = execute("--seconds", "0.1", "--threads", "1");
        assertEquals(r.out().contains("BELOW TARGET") ? ExitCodes.CHECK_FAILED : 0, r.exit(), r.err());
        assertTrue(r.out().contains("sign/s"), r.out());
        assertTrue(r.out().contains("verify/s"), r.out());
        assertTrue(r.out().contains("appraisals/s"), r.out());
        assertTrue(r.out().contains("target 90%"), r.out());
    }

    @Test
    void aFigureBelowItsTargetSaysSoAndExitsWithCheckFailed() {
        var unreachable = new BenchCryptoCommand();
        unreachable.targetRatio = 100; // appraisals at 100 times the verify rate: no run gets there
        var table = execute(unreachable, "--seconds", "0.1", "--threads", "1");
        assertEquals(ExitCodes.CHECK_FAILED, table.exit(), table.err());
        assertTrue(table.out().contains("(target 10000%): BELOW TARGET"), table.out());

        var json = execute(unreachable, "--json", "--seconds", "0.1", "--threads", "1");
        assertEquals(ExitCodes.CHECK_FAILED, json.exit());
        assertEquals(
                false,
                CBORObject.FromJSONString(json.out().trim()).get("target_met").AsBoolean(),
                json.out());
        assertTrue(json.err().contains("BELOW TARGET"), json.err());

        var reachable = new BenchCryptoCommand();
        reachable.targetRatio = 0;
        assertEquals(0, execute(reachable, "--seconds", "0.1", "--threads", "1").exit());
    }

    @Test
    void aNonPositiveDurationIsAUserError() {
        var cli = new CommandLine(new BenchCryptoCommand());
        var e = org.junit.jupiter.api.Assertions.assertThrows(
                Failure.class,
                () -> cli.parseArgs("--seconds", "0")
                        .asCommandLineList()
                        .get(0)
                        .<BenchCryptoCommand>getCommand()
                        .call());
        assertTrue(e.getMessage().contains("--seconds"), e.getMessage());
    }
}
