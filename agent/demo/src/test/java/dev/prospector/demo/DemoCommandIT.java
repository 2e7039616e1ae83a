package dev.prospector.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.ProspectorCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The README's main job, shortened: boards, broker and verifier in one process, every report
 * accepted, and every board's proofs of service judged by the verifier.
 */
class DemoCommandIT {
    @Test
    void everyReportIsAcceptedAndEveryBoardProvesItsService() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                new String[] {"demo", "--devices", "2", "--duration", "4s", "--interval", "300ms", "--json"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String json = out.toString(StandardCharsets.UTF_8).trim();
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        String said = err.toString(StandardCharsets.UTF_8);
        assertTrue(
                java.util.regex.Pattern.compile(
                                "board 1 \\(p[a-z2-7]{24}\\) shows its dashboard at http://127\\.0\\.0\\.1:\\d+/")
                        .matcher(said)
                        .find(),
                "the demo prints its first board's page address: " + said);
        CBORObject rows = CBORObject.FromJSONString(json);
        assertEquals(2, rows.size(), json);
        for (int i = 0; i < rows.size(); i++) {
            CBORObject r = rows.get(i);
            long made = r.get("made").AsInt64Value();
            assertTrue(made >= 3, "each board made reports: " + json);
            assertEquals(
                    made, r.get("delivered").AsInt64Value(), "every report confirmed by a signed receipt: " + json);
            assertEquals(made, r.get("accepted").AsInt64Value(), json);
            assertEquals(0, r.get("pending").AsInt64Value(), json);
            assertEquals(0, r.get("rejected").AsInt64Value(), json);
            assertTrue(
                    r.get("answered").AsInt64Value() >= 1,
                    "reports after the first receipt answer a challenge: " + json);
            assertProofs(r, 4L << 20, json);
        }
    }

    /** The verifier's judgement of one board in the demo's JSON: plausible figures, as numbers. */
    static void assertProofs(CBORObject r, long plotBytes, String json) {
        for (String key :
                new String[] {"uptime_pct", "storage_proven_bytes", "down_mbps", "up_mbps", "reputation", "score"}) {
            assertTrue(r.get(key) != null && r.get(key).isNumber(), key + " is a number: " + json);
        }
        double uptime = number(r, "uptime_pct");
        assertTrue(uptime > 0 && uptime <= 100, "uptime credited: " + json);
        assertEquals(plotBytes, r.get("storage_proven_bytes").AsInt64Value(), "the plot proven by an audit: " + json);
        assertTrue(number(r, "down_mbps") > 0, "download measured: " + json);
        assertTrue(number(r, "up_mbps") > 0, "upload measured: " + json);
        assertTrue(number(r, "reputation") >= 0.8, "not disqualified: " + json);
        double score = number(r, "score");
        assertTrue(score > 0 && score <= 1, "scored: " + json);
    }

    /** A JSON number, whole (reputation 1) or not. */
    private static double number(CBORObject r, String key) {
        return Double.parseDouble(r.get(key).ToJSONString());
    }
}
