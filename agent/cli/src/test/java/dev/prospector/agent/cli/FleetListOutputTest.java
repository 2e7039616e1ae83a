package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.console.DeviceView;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link FleetListOutput} prints what {@code fleet list} printed before through {@link Table} and
 * {@link JsonOutput} over a CBOR tree: the reference code below is that earlier code.
 */
class FleetListOutputTest {
    private static final Instant NOW = Instant.parse("2026-12-01T18:00:00Z");

    /** The table as {@code fleet list} built it through {@link Table}. */
    private static String referenceTable(Collection<DeviceView> devices) {
        Table t = new Table("DEVICE", "STATE", "LAST SEEN", "VERSION", "BOARD", "GROUPS", "LAST REPORT");
        for (DeviceView v : devices) {
            t.row(
                    v.device(),
                    v.online() ? "online" : "offline",
                    v.lastSeen()
                            .map(s -> FleetConsoleCommand.ago(Duration.between(s, NOW)))
                            .orElse("-"),
                    v.version().isEmpty() ? "-" : v.version(),
                    v.board().isEmpty() ? "-" : v.board(),
                    v.groups().isEmpty() ? "-" : String.join(",", v.groups()),
                    v.lastReport().isEmpty() ? "-" : v.lastReport());
        }
        StringWriter w = new StringWriter();
        PrintWriter out = new PrintWriter(w);
        t.print(out);
        out.flush();
        return w.toString();
    }

    /** The JSON as {@code fleet list --json} built it: a CBOR tree written by {@link JsonOutput}. */
    private static String referenceJson(Collection<DeviceView> devices, long ms) {
        CBORObject list = CBORObject.NewArray();
        devices.forEach(v -> list.Add(FleetConsoleCommand.json(v)));
        return JsonOutput.of(CBORObject.NewOrderedMap()
                .Add("devices", list)
                .Add("count", devices.size())
                .Add("online", devices.stream().filter(DeviceView::online).count())
                .Add("millis", ms));
    }

    private static DeviceView device(
            String id, boolean online, String version, List<String> groups, Map<String, Object> summary) {
        return new DeviceView(
                id,
                online,
                online ? Optional.of(NOW.minusSeconds(id.length() * 997L)) : Optional.empty(),
                version,
                online ? "pi-zero-2w" : "",
                online ? Optional.of(new byte[] {1, 2, 3, (byte) 0xfe}) : Optional.empty(),
                online ? "" : "no birth message",
                groups,
                Optional.ofNullable(summary));
    }

    private static Map<String, Object> summary(boolean ok, String reason, Object extra) {
        Map<String, Object> receipt = new LinkedHashMap<>();
        receipt.put("ok", ok);
        receipt.put("reason", reason);
        receipt.put("detail", ok ? "" : "seq 7 after 9");
        receipt.put("seq", 100L);
        receipt.put("at", "2026-12-01T17:59:00Z");
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("version", "0.1.0");
        s.put("connected", true);
        s.put("made", 12_345_678_901L);
        s.put("load", 0.7253000000000001);
        s.put("huge", 1e20);
        s.put("tiny", -1.5e-7);
        s.put("nothing", null);
        s.put("last_receipt", receipt);
        s.put("groups", List.of("lab", "roof"));
        s.put("zz-a-much-longer-key-than-the-others", extra);
        s.put("é", "accent key");
        s.put("b", "short key");
        return s;
    }

    private static List<DeviceView> fleet() {
        List<DeviceView> d = new ArrayList<>();
        d.add(device("paaaaaaaaaaaaaaaaaaaaaaaa", true, "0.1.0", List.of("lab"), summary(true, "", 1L)));
        d.add(device(
                "pbbbbbbbbbbbbbbbbbbbbbbbb", true, "0.2.0-rc1", List.of("lab", "roof"), summary(false, "STALE", "x")));
        d.add(device("pcccccccccccccccccccccccc", false, "", List.of(), null));
        d.add(device(
                "pdddddddddddddddddddddddd",
                true,
                "1",
                List.of("12"),
                summary(false, "BAD\"SIG\\\n\t\u0001\u007f\u00a0\u2028\ufeff😀</", List.of(1L, "a", true))));
        d.add(device("peeeeeeeeeeeeeeeeeeeeeeee", true, "0.1.0", List.of("ünï"), Map.of()));
        return d;
    }

    @Test
    void theTableIsTheOneTableWouldPrint() {
        String nl = System.lineSeparator();
        assertEquals(
                referenceTable(fleet()), FleetListOutput.table(fleet(), NOW, nl).toString());
        assertEquals(
                referenceTable(List.of()),
                FleetListOutput.table(List.of(), NOW, nl).toString());
        // Every version and group numeric: those columns are right-aligned, as Table does.
        List<DeviceView> numeric = List.of(
                device("paaaaaaaaaaaaaaaaaaaaaaaa", true, "0.1.0", List.of("1"), null),
                device("pbbbbbbbbbbbbbbbbbbbbbbbb", true, "10.12.3", List.of("22", "3"), null));
        String printed = FleetListOutput.table(numeric, NOW, nl).toString();
        assertEquals(referenceTable(numeric), printed);
        assertTrue(printed.contains("    0.1.0"), printed);
    }

    @Test
    void theNumberTestIsTablesRegularExpression() {
        for (String s : List.of(
                "", "-", "1", "-1", "1.2.3", "1,000", "12%", "-3.5%", "%", "1%%", "a1", "1a", "0.1.0", "-%", "1-2",
                "1.", ".1", "1,", "+1", "1 ", "١")) {
            assertEquals(s.matches("-?[0-9][0-9.,]*%?"), FleetListOutput.looksNumeric(s), "'" + s + "'");
        }
    }

    @Test
    void theJsonIsTheOneTheCborTreeGave() {
        assertEquals(
                referenceJson(fleet(), 1234),
                FleetListOutput.json(fleet(), 1234).toString());
        assertEquals(
                referenceJson(List.of(), 0), FleetListOutput.json(List.of(), 0).toString());
    }

    @Test
    void stringsAreEscapedAsTheCborLibraryEscapesThem() {
        StringBuilder all = new StringBuilder();
        for (int c = 0; c < 0x10000; c++) {
            if (!Character.isSurrogate((char) c)) {
                all.append((char) c);
            }
        }
        all.append("😀 and 𝄞");
        StringBuilder b = new StringBuilder();
        FleetListOutput.string(b, all.toString());
        assertEquals(CBORObject.FromObject(all.toString()).ToJSONString(), b.toString());
    }

    @Test
    void mapKeysComeInCanonicalCborOrder() {
        Random random = new Random(14);
        for (int round = 0; round < 200; round++) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < 8; i++) {
                StringBuilder k = new StringBuilder();
                int n = random.nextInt(30);
                for (int j = 0; j < n; j++) {
                    k.append(
                            random.nextInt(4) == 0
                                    ? (char) (0xa1 + random.nextInt(0x700))
                                    : (char) ('a' + random.nextInt(26)));
                }
                m.put(k.toString(), (long) i);
            }
            StringBuilder b = new StringBuilder();
            FleetListOutput.value(b, m);
            assertEquals(
                    JsonOutput.of(CBORObject.FromObject(m)),
                    b.toString(),
                    m.keySet().toString());
        }
        assertFalse(FleetListOutput.canonical("b", "aa") > 0, "shorter first");
    }
}
