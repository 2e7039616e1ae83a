package dev.prospector.agent.dashboard;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.testing.ProspectorProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard of a live board (issue 15): the JSON API and {@code /metrics} read by a real
 * Prometheus parser (Debian's python3-prometheus-client), the page in real headless Chromium
 * driven over the DevTools protocol (no console error, the device id shown, a live value that
 * changes, screenshots at phone and desktop width under target/), and {@code prospector status}
 * with the agent running and stopped. When {@code CI=true} a missing Chromium or Python module
 * fails; elsewhere the test that needs it is skipped.
 */
class DashboardIT {
    static final Path PYTHON = Path.of("/usr/bin/python3");
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    static Path dir;

    static LiveBoard board;

    @BeforeAll
    static void startBoard() throws Exception {
        board = LiveBoard.start(dir);
    }

    @AfterAll
    static void stopBoard() {
        if (board != null) {
            board.close();
        }
    }

    static boolean ci() {
        return "true".equals(System.getenv("CI"));
    }

    /** A JSON number as a double, whatever CBOR type the parser chose for it. */
    static double num(CBORObject v) {
        return Double.parseDouble(v.ToJSONString());
    }

    static CBORObject json(String path) throws Exception {
        var r = board.get(path);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        return CBORObject.FromJSONString(r.body());
    }

    @Test
    void theApiShowsTheLiveBoardAndItsReceipts() throws Exception {
        await("a report accepted and an audit passed").atMost(LiveBoard.WAIT).until(() -> {
            CBORObject s = json("/api/status");
            return s.get("last_receipt").isNull() == false
                    && s.get("last_receipt").get("accepted").isTrue()
                    && !s.get("proofs").get("reputation").isNull();
        });
        CBORObject first = json("/api/status");
        assertEquals(board.device, first.get("device").AsString());
        assertEquals(LiveBoard.FLEET, first.get("fleet").AsString());
        assertTrue(first.get("connection").get("connected").isTrue());
        assertEquals("accepted", first.get("last_receipt").get("text").AsString());
        assertFalse(first.get("clock").get("offset_ms").isNull(), "clock checked from a receipt");
        assertEquals("done", first.get("plot").get("state").AsString());
        double reputation = num(first.get("proofs").get("reputation"));
        assertTrue(reputation > 0.8 && reputation <= 1.0, "reputation " + reputation);
        long made = first.get("reports").get("made").AsInt64Value();
        await("reports go on")
                .atMost(LiveBoard.WAIT)
                .until(() -> json("/api/status").get("reports").get("made").AsInt64Value() > made);
        CBORObject reports = json("/api/reports");
        assertEquals(board.device, reports.get("device").AsString());
        assertTrue(reports.get("reports").size() > 0);
        assertTrue(
                reports.get("reports").getValues().stream()
                        .anyMatch(r -> r.get("status").AsString().equals("accepted")),
                reports::toString);
        CBORObject hardware = json("/api/hardware");
        assertEquals("emulated", hardware.get("board").get("kind").AsString());
        assertTrue(hardware.get("readings").getValues().stream()
                .anyMatch(r -> r.get("name").AsString().equals("temperature")));
        System.out.println("api: device " + board.device + ", " + made + "+ reports made, last receipt "
                + first.get("last_receipt").get("text").AsString() + ", reputation " + reputation + ", "
                + first.get("clock").get("text").AsString());
    }

    /** Runs the parser of Debian's prometheus_client over the scraped text; what it read, as JSON. */
    static CBORObject parseMetrics(String text) throws Exception {
        boolean present = Files.isExecutable(PYTHON)
                && new ProcessBuilder(PYTHON.toString(), "-c", "import prometheus_client.parser")
                                .start()
                                .waitFor()
                        == 0;
        assertTrue(
                present || !ci(),
                "python3-prometheus-client is missing (CI=true): apt-get install python3-prometheus-client");
        assumeTrue(present, "no python3-prometheus-client: the /metrics parse is skipped");
        Path in = dir.resolve("metrics.txt");
        Files.writeString(in, text);
        String script = String.join(
                "\n",
                "import json, sys",
                "from prometheus_client.parser import text_string_to_metric_families",
                "out = {}",
                "for f in text_string_to_metric_families(open(sys.argv[1]).read()):",
                "    out[f.name] = {'type': f.type, 'samples': [[s.name, s.labels, s.value if s.value == s.value else 'NaN'] for s in f.samples]}",
                "print(json.dumps(out))");
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", script, in.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "the Prometheus parser refused /metrics:\n" + output + "\n" + text);
        return CBORObject.FromJSONString(output.trim());
    }

    static double sample(CBORObject families, String family, String sampleName, String labelKey, String labelValue) {
        CBORObject f = families.get(family);
        assertTrue(f != null, "no family " + family + " in " + families.getKeys());
        for (CBORObject s : f.get("samples").getValues()) {
            if (s.get(0).AsString().equals(sampleName)
                    && (labelKey == null
                            || labelValue.equals(s.get(1).get(labelKey).AsString()))) {
                return s.get(2).getType() == com.upokecenter.cbor.CBORType.TextString ? Double.NaN : num(s.get(2));
            }
        }
        throw new AssertionError("no sample " + sampleName + " in " + f);
    }

    @Test
    void metricsParseWithPrometheusOwnParserAndCountTheLiveBoard() throws Exception {
        await("a receipt")
                .atMost(LiveBoard.WAIT)
                .until(() -> !json("/api/status").get("last_receipt").isNull());
        var r = board.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        CBORObject m = parseMetrics(r.body());
        assertEquals("counter", m.get("prospector_reports_made").get("type").AsString());
        double made = sample(m, "prospector_reports_made", "prospector_reports_made_total", null, null);
        double accepted = sample(m, "prospector_reports_accepted", "prospector_reports_accepted_total", null, null);
        assertTrue(made >= 1 && accepted >= 1, "made " + made + ", accepted " + accepted);
        assertEquals(
                0.0, sample(m, "prospector_reports_rejected", "prospector_reports_rejected_total", "reason", "stale"));
        assertEquals(1.0, sample(m, "prospector_broker_connected", "prospector_broker_connected", null, null));
        assertEquals(
                "gauge", m.get("prospector_outbox_backlog_bytes").get("type").AsString());
        double age =
                sample(m, "prospector_last_receipt_age_seconds", "prospector_last_receipt_age_seconds", null, null);
        assertTrue(age >= 0 && age < 60, "receipt age " + age);
        double temp = sample(m, "prospector_temperature_celsius", "prospector_temperature_celsius", null, null);
        assertTrue(temp > 0 && temp < 100, "temperature " + temp);
        for (String f : List.of(
                "prospector_reports_sent",
                "prospector_broker_reconnects",
                "prospector_audit_reputation_ratio",
                "prospector_plot_progress_ratio",
                "prospector_under_voltage",
                "prospector_clock_offset_seconds")) {
            assertTrue(m.get(f) != null, "no " + f);
        }
        var again = parseMetrics(board.get("/metrics").body());
        double later = sample(again, "prospector_reports_made", "prospector_reports_made_total", null, null);
        System.out.println("/metrics: " + m.size() + " families parsed by prometheus_client; reports made " + made
                + " then " + later + ", accepted " + accepted + ", temperature " + temp + " °C, receipt age " + age
                + " s");
    }

    @Test
    void thePageShowsTheLiveBoardInHeadlessChromiumAtPhoneAndDesktopWidth() throws Exception {
        boolean present = Files.isExecutable(CHROMIUM);
        assertTrue(present || !ci(), "chromium is missing (CI=true): apt-get install chromium");
        assumeTrue(present, "no chromium: the page test is skipped");
        Path profile = Files.createTempDirectory(dir, "chromium-");
        List<String> cmd = new ArrayList<>(List.of(
                CHROMIUM.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--user-data-dir=" + profile,
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank"));
        Process chromium = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("chromium.log").toFile())
                .start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            await("chromium's DevTools port")
                    .atMost(LiveBoard.WAIT)
                    .until(() -> Files.isRegularFile(portFile)
                                    && Files.readAllLines(portFile).size() >= 2
                            || !chromium.isAlive());
            assertTrue(chromium.isAlive(), () -> read(dir.resolve("chromium.log")));
            int devtools = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
            String pageSocket = pageTarget(devtools);
            try (Cdp cdp = Cdp.connect(pageSocket)) {
                cdp.send("Runtime.enable");
                cdp.send("Log.enable");
                cdp.send("Page.enable");
                metrics(cdp, 390, 844, true);
                cdp.send("Page.navigate", CBORObject.NewMap().Add("url", board.url("/")));
                await("page loaded").atMost(LiveBoard.WAIT).until(() -> cdp.sawEvent("Page.loadEventFired"));
                await("device id shown")
                        .atMost(LiveBoard.WAIT)
                        .until(() -> board.device.equals(cdp.eval("document.getElementById('device').textContent")));
                String made1 = cdp.eval("document.getElementById('made').textContent");
                await("a live value changes")
                        .atMost(LiveBoard.WAIT)
                        .until(() -> !made1.equals(cdp.eval("document.getElementById('made').textContent")));
                String made2 = cdp.eval("document.getElementById('made').textContent");
                assertNotEquals(made1, made2);
                assertEquals("connected", cdp.eval("document.getElementById('conn').textContent"));
                assertEquals(
                        "true",
                        cdp.eval(
                                "document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0"),
                        "the QR code image loaded");
                Path phone = screenshot(cdp, "dashboard-phone.png");
                String phoneOverflow = cdp.eval("document.documentElement.scrollWidth <= window.innerWidth");
                assertEquals("true", phoneOverflow, "nothing wider than a phone screen");
                metrics(cdp, 1280, 900, false);
                Path desktop = screenshot(cdp, "dashboard-desktop.png");
                List<String> errors = new ArrayList<>();
                for (CBORObject e : cdp.events) {
                    String method = e.get("method").AsString();
                    CBORObject p = e.get("params");
                    if (method.equals("Runtime.exceptionThrown")
                            || (method.equals("Runtime.consoleAPICalled")
                                    && p.get("type").AsString().equals("error"))
                            || (method.equals("Log.entryAdded")
                                    && p.get("entry").get("level").AsString().equals("error"))) {
                        errors.add(p.ToJSONString());
                    }
                }
                assertTrue(errors.isEmpty(), "console errors: " + errors);
                System.out.println("page in headless Chromium: device id " + board.device + " shown, reports made "
                        + made1 + " -> " + made2 + ", no console error; screenshots " + phone + " (390 px) and "
                        + desktop + " (1280 px)");
            }
        } finally {
            chromium.destroyForcibly();
            chromium.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void metrics(Cdp cdp, int width, int height, boolean mobile) throws Exception {
        cdp.send(
                "Emulation.setDeviceMetricsOverride",
                CBORObject.NewMap()
                        .Add("width", width)
                        .Add("height", height)
                        .Add("deviceScaleFactor", 1)
                        .Add("mobile", mobile));
    }

    private static Path screenshot(Cdp cdp, String name) throws Exception {
        await("repainted")
                .pollDelay(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(5))
                .until(() -> "complete".equals(cdp.eval("document.readyState")));
        CBORObject shot = cdp.send("Page.captureScreenshot", CBORObject.NewMap().Add("format", "png"));
        Path out = Path.of("target", name).toAbsolutePath();
        Files.createDirectories(out.getParent());
        byte[] png = Base64.getDecoder().decode(shot.get("data").AsString());
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG");
        Files.write(out, png);
        return out;
    }

    private static String pageTarget(int devtools) throws Exception {
        var client = java.net.http.HttpClient.newHttpClient();
        String[] found = new String[1];
        await("a page target").atMost(LiveBoard.WAIT).until(() -> {
            var r = client.send(
                    java.net.http.HttpRequest.newBuilder(
                                    java.net.URI.create("http://127.0.0.1:" + devtools + "/json/list"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            for (CBORObject t : CBORObject.FromJSONString(r.body()).getValues()) {
                if (t.get("type").AsString().equals("page") && t.get("webSocketDebuggerUrl") != null) {
                    found[0] = t.get("webSocketDebuggerUrl").AsString();
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void anUnderVoltedHotBoardIsWarnedAboutOnTheApiAndInMetrics() throws Exception {
        int port = LiveBoard.freePort();
        try (ProspectorProcess sick = ProspectorProcess.start(
                dir.resolve("logs"),
                "sick",
                "run",
                "--broker",
                board.broker.url(),
                "--fleet",
                LiveBoard.FLEET,
                "--board",
                "emulated",
                "--faults",
                "under-voltage,thermal-throttling",
                "--data-dir",
                dir.resolve("sick-board").toString(),
                "--interval",
                "1s",
                "--dashboard-port",
                Integer.toString(port))) {
            var client = java.net.http.HttpClient.newHttpClient();
            var req = java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + port + "/api/status"))
                    .build();
            CBORObject[] health = new CBORObject[1];
            await("a measured round").atMost(LiveBoard.WAIT).ignoreExceptions().until(() -> {
                var r = client.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
                health[0] = CBORObject.FromJSONString(r.body()).get("health");
                return !health[0].get("temperature_celsius").isNull();
            });
            assertTrue(health[0].get("under_voltage").isTrue(), health[0]::toString);
            assertTrue(health[0].get("throttled").isTrue(), health[0]::toString);
            List<String> warnings = health[0].get("warnings").getValues().stream()
                    .map(CBORObject::AsString)
                    .toList();
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("under-voltage now")), warnings::toString);
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("hot: ")), warnings::toString);
            var metrics = client.send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            CBORObject m = parseMetrics(metrics.body());
            assertEquals(1.0, sample(m, "prospector_under_voltage", "prospector_under_voltage", null, null));
            double temp = sample(m, "prospector_temperature_celsius", "prospector_temperature_celsius", null, null);
            assertTrue(temp >= StatusView.HOT_CELSIUS, "temperature " + temp);
            System.out.println("faults under-voltage and thermal-throttling: warnings " + warnings
                    + "; /metrics prospector_under_voltage 1, temperature " + temp);
        }
    }

    @Test
    void aDashboardPortInUseCostsThePageNotTheReports() throws Exception {
        try (ProspectorProcess second = ProspectorProcess.start(
                dir.resolve("logs"),
                "port-taken",
                "run",
                "--broker",
                board.broker.url(),
                "--fleet",
                LiveBoard.FLEET,
                "--board",
                "emulated",
                "--data-dir",
                dir.resolve("second-board").toString(),
                "--interval",
                "1s",
                "--dashboard-port",
                Integer.toString(board.port))) {
            second.awaitLogged("connected to", LiveBoard.WAIT);
            String warning = second.stderr()
                    .lines()
                    .filter(l -> l.contains("dashboard not started"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(second.stderr()));
            assertTrue(warning.contains(" WARN ") && warning.contains("pick another port"), warning);
            assertEquals(board.device, json("/api/status").get("device").AsString(), "the first board keeps its port");
            System.out.println("port " + board.port + " taken: the second agent reports without a dashboard: "
                    + warning.replaceAll(".*WARN ", ""));
        }
    }

    @Test
    void statusOnTheBoardReadsTheRunningAgentAndSaysWhenNoneRuns() throws Exception {
        await("a receipt")
                .atMost(LiveBoard.WAIT)
                .until(() -> !json("/api/status").get("last_receipt").isNull());
        Path logs = dir.resolve("status-logs");
        var table = ProspectorProcess.run(
                logs, "status", "status", "--data-dir", board.dataDir.toString(), "--dashboard-port", "" + board.port);
        assertEquals(0, table.exitCode(), table.stderr());
        assertTrue(table.stdout().contains(board.device), table.stdout());
        assertTrue(table.stdout().contains("connected"), table.stdout());
        assertTrue(table.stdout().contains("last receipt  accepted"), table.stdout());
        var js = ProspectorProcess.run(
                logs,
                "status-json",
                "status",
                "--json",
                "--data-dir",
                board.dataDir.toString(),
                "--dashboard-port",
                "" + board.port);
        assertEquals(0, js.exitCode(), js.stderr());
        CBORObject s = CBORObject.FromJSONString(js.stdout().trim());
        assertEquals(board.device, s.get("device").AsString());
        assertTrue(s.get("running").isTrue());

        int nobody = LiveBoard.freePort();
        var offline = ProspectorProcess.run(
                logs, "status-off", "status", "--data-dir", board.dataDir.toString(), "--dashboard-port", "" + nobody);
        assertEquals(3, offline.exitCode(), offline.stdout() + offline.stderr());
        String firstLine = offline.stdout().lines().findFirst().orElse("");
        assertTrue(firstLine.startsWith("no agent is running here"), offline.stdout());
        assertTrue(
                offline.stdout().contains(board.device), "the device id read from the data dir: " + offline.stdout());
        System.out.println("status: running agent shown as a table and JSON (exit 0); with nothing on port " + nobody
                + ": \"" + firstLine + "\" and the data dir's device id (exit 3)\n" + table.stdout());
    }
}
