package dev.prospector.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.ProspectorCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The README's main job, shortened: boards, broker and verifier in one process, every report accepted. */
class DemoCommandIT {
    @Test
    void everyReportIsAcceptedAndLaterOnesAnswerTheirChallenge() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                new String[] {"demo", "--devices", "2", "--duration", "4s", "--interval", "300ms", "--json"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String json = out.toString(StandardCharsets.UTF_8).trim();
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
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
        }
    }
}
