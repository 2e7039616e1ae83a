package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.testing.Mosquitto;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code prospector bench transport} run for real, through a Mosquitto it starts; its checks
 * alone: {@link BenchTransportCommandTest}.
 */
class BenchTransportCommandIT {
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

    @Test
    void jsonHasEveryFigureAndEachIsPositive() {
        Path mosquitto = Mosquitto.requireBinary();
        var r = execute(
                new BenchTransportCommand(),
                "--json",
                "--mosquitto",
                mosquitto.toString(),
                "--runs",
                "1",
                "--agent-reports",
                "10",
                "--devices",
                "6",
                "--reports-per-device",
                "2");
        assertEquals(0, r.exit(), r.err());
        var json = CBORObject.FromJSONString(r.out().trim());
        for (String field : new String[] {
            "agent_reports_per_s",
            "outbox_bytes_written_per_report",
            "report_bytes",
            "outbox_bytes_per_report_bytes",
            "appraisals_per_s_one_verifier",
            "backlog_drain_seconds_measured",
            "backlog_drain_reports_per_s",
            "backlog_drain_seconds_1000x3600"
        }) {
            assertTrue(json.ContainsKey(field), field + " missing in " + r.out());
            assertTrue(json.get(field).isNumber(), field + " is not a number in " + r.out());
            var n = json.get(field).AsNumber();
            assertTrue(!n.IsNegative() && !n.IsZero(), field + " not positive in " + r.out());
        }
        assertEquals(12, json.get("backlog_reports_measured").AsInt32Value(), r.out());
        assertEquals(6, json.get("appraisal_backlog_reports").AsInt32Value(), "half the devices: " + r.out());
        assertEquals(0, json.get("stalled_runs_one_verifier").AsInt32Value(), r.out());
        assertEquals(0, json.get("accepted_twice").AsInt32Value(), r.out());
    }
}
