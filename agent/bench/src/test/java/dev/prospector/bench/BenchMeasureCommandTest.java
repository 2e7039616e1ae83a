package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchMeasureCommandTest {
    @Test
    void smallTransfersGiveEveryFigure() {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(new BenchMeasureCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute("--bytes", "256K,1M", "--runs", "7", "--json");
        assertEquals(0, exit, err.toString());
        var json = CBORObject.FromJSONString(out.toString().trim());
        for (String field : new String[] {
            "down_256k_mbps_median",
            "up_256k_mbps_median",
            "down_1m_mbps_median",
            "up_1m_mbps_median",
            "cpu_ns_per_byte_1m_median",
            "endpoint_cpu_ns_per_byte_1m_median",
            "aes_ctr_mb_per_cpu_s",
            "sha256_mb_per_cpu_s",
            "upstream_mb_per_cpu_s"
        }) {
            assertTrue(json.ContainsKey(field), field + " missing in " + out);
            assertTrue(json.get(field).AsDouble() > 0, field + " not positive in " + out);
        }
        assertEquals(7, json.get("down_1m_mbps_runs").size(), "more than the endpoint's 6 tests a minute per device");
    }
}
