package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.kafka.KafkaBroker;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code prospector bench network --kafka} run for real on a small backlog, through a Mosquitto and
 * a KRaft broker it starts: every row the issue asks for is there, every report of every drain was
 * accepted exactly once, and the exit status says what the JSON says. The figures themselves are
 * for docs/BENCHMARKS.md, not for a test on a shared machine.
 */
class BenchNetworkCommandIT {
    private static final int DEVICES = 40;
    private static final int REPORTS_PER_DEVICE = 5;

    /** A JSON number, integral or not, as a double. */
    private static double number(CBORObject n) {
        assertTrue(n.isNumber(), n + " is not a number");
        return Double.parseDouble(n.ToJSONString());
    }

    @Test
    void everyRowIsMeasuredAndNothingIsLostOrCountedTwice(@TempDir Path dir) throws Exception {
        Path mosquitto = Mosquitto.requireBinary();
        try (KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
            var out = new StringWriter();
            var err = new StringWriter();
            var cli = new CommandLine(new BenchNetworkCommand());
            cli.setOut(new PrintWriter(out));
            cli.setErr(new PrintWriter(err));
            int exit = cli.execute(
                    "--json",
                    "--mosquitto",
                    mosquitto.toString(),
                    "--kafka",
                    kafka.bootstrap(),
                    "--runs",
                    "1",
                    "--warm-ups",
                    "1",
                    "--devices",
                    String.valueOf(DEVICES),
                    "--reports-per-device",
                    String.valueOf(REPORTS_PER_DEVICE),
                    "--latency-rate",
                    "50",
                    "--latency-seconds",
                    "3");
            System.out.println(out);
            var json = CBORObject.FromJSONString(out.toString().trim());
            assertEquals(json.get("target_met").AsBoolean() ? 0 : 1, exit, "exit status against target_met: " + err);

            List<String> rows = new ArrayList<>();
            for (CBORObject row : json.get("rows").getValues()) {
                String name =
                        row.get("mode").AsString() + " x" + row.get("verifiers").AsInt32();
                rows.add(name);
                assertTrue(number(row.get("appraisals_per_s")) > 0, name + ": " + row);
                assertTrue(number(row.get("cpu_us_per_appraisal")) > 0, name + ": " + row);
                assertEquals(0, row.get("lost").AsInt64Value(), name + " lost reports: " + row);
                assertEquals(0, row.get("double_counted").AsInt64Value(), name + " counted reports twice: " + row);
                assertEquals(0, row.get("stalled_runs").AsInt64Value(), name + " stalled: " + row);
                assertTrue(number(row.get("start_cpu_ms")) > 0, name + ": " + row);
                assertTrue(number(row.get("jit_cpu_ms")) >= 0, name + ": " + row);
                if (row.get("verifiers").AsInt32() == 1) {
                    // Where the drain's CPU went: the workers' share, and the JIT's apart; the kinds
                    // but the JIT's account for the row's CPU per appraisal (taken over a span at
                    // least as long).
                    CBORObject by = row.get("cpu_us_per_report_by_thread");
                    assertTrue(number(by.get("appraisal workers")) > 0, name + " by thread: " + by);
                    assertTrue(number(by.get("JIT compiler")) >= 0, name + " by thread: " + by);
                    double notJit = 0;
                    for (CBORObject k : by.getKeys()) {
                        notJit += k.AsString().equals("JIT compiler") ? 0 : number(by.get(k));
                    }
                    assertTrue(
                            notJit >= 0.8 * number(row.get("cpu_us_per_appraisal")),
                            name + " by thread: " + by + " against " + row.get("cpu_us_per_appraisal"));
                } else {
                    assertTrue(row.get("cpu_us_per_report_by_thread").isNull(), name + ": " + row);
                }
                if (!row.get("publish_to_receipt_p50_ms").isNull()) {
                    double p50 = number(row.get("publish_to_receipt_p50_ms"));
                    double p99 = number(row.get("publish_to_receipt_p99_ms"));
                    assertTrue(p50 > 0 && p50 <= p99, name + " latency: " + row);
                    assertEquals(0, row.get("receipts_missing").AsInt64Value(), name + " receipts missing: " + row);
                }
            }
            assertEquals(List.of("mqtt x1", "kafka x1", "kafka x2", "kafka x4"), rows);
            assertTrue(json.get("rows").get(0).get("publish_to_receipt_p50_ms").isNumber(), "MQTT latency measured");
            assertTrue(json.get("rows").get(1).get("publish_to_receipt_p50_ms").isNumber(), "Kafka latency measured");
            assertTrue(number(json.get("crypto").get("crypto_appraisals_per_s_all_cores")) > 0, out.toString());
            assertTrue(number(json.get("bridge_reports_per_s")) > 0, out.toString());
            assertTrue(number(json.get("kafka_two_over_one_verifier")) > 0, out.toString());
            assertTrue(number(json.get("kafka_cpu_per_appraisal_over_mqtt")) > 0, out.toString());
            // Where the cores went in the MQTT verifier's drains, Mosquitto's share included: the parts
            // add up to the whole, and the verifier's own share is at least its CPU per appraisal less
            // what a tick of /proc/stat can hide.
            CBORObject cores = json.get("one_verifier_core_time_us_per_report");
            double all = number(cores.get("all"));
            double parts = number(cores.get("this_process"))
                    + number(cores.get("broker"))
                    + number(cores.get("other_processes"))
                    + number(cores.get("idle"));
            assertEquals(all, parts, 0.01 * all + 0.5, "the parts against the whole: " + cores);
            assertTrue(number(cores.get("broker")) > 0, "Mosquitto took no CPU: " + cores);
            assertTrue(number(cores.get("this_process")) > 0, cores.toString());
            assertTrue(number(cores.get("crypto_appraisal")) > 0, cores.toString());
            assertTrue(
                    number(json.get("transport_only")
                                    .get("core_time_us_per_report")
                                    .get("broker"))
                            > 0,
                    out.toString());
        }
    }
}
