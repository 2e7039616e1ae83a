package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORException;
import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.dashboard.DashboardServer;
import dev.prospector.agent.dashboard.DashboardSettings;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.pos.PlotFile;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector status}: the board's own view, the first thing to run when something looks
 * wrong. Reads the running agent's {@code /api/status} on this board (the port from
 * {@code --dashboard-port} or the config file); with no agent running, says so in one line and
 * prints what the data dir shows (key, outbox, plot). Exit 0 when the agent answered, 3 when it
 * does not run (or its dashboard is off), 2 for bad input.
 */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = {
            "Show what this board's agent is doing.",
            "Device id, key file, broker connection, last report and receipt, clock offset, outbox backlog, plot"
                    + " progress and hardware health, from the running agent's dashboard; without one, what the data dir"
                    + " holds."
        })
public final class StatusCommand implements Callable<Integer> {
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Largest answer read from the agent. */
    static final int MAX_ANSWER = 1 << 20;

    @Spec
    CommandSpec spec;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Config file (key = value lines; keys are these options' long names).")
    Path config;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            defaultValue = "/var/lib/prospector",
            description = "The agent's data dir (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Mixin
    DashboardOptions dashboard;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        DashboardSettings d = dashboard.settings();
        Path keyFile = dataDir.resolve(DeviceKeys.PRIVATE_KEY_FILE);
        if (!d.enabled()) {
            return offline(
                    out, "the dashboard is off (--dashboard-port 0): cannot ask the agent; from " + dataDir + ":");
        }
        String host = host(d);
        URI uri = URI.create("http://" + host + ":" + d.port() + "/api/status");
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET();
        Path token = dataDir.resolve(DashboardSettings.TOKEN_FILE);
        if (d.passwordHash().isPresent() && Files.isReadable(token)) {
            try {
                req.header(
                        "Cookie",
                        DashboardServer.COOKIE + "="
                                + Files.readString(token, StandardCharsets.US_ASCII)
                                        .trim());
            } catch (IOException e) {
                // Without the token the agent answers 401, said below.
            }
        }
        HttpResponse<byte[]> answer;
        try {
            answer = HttpClient.newBuilder()
                    .connectTimeout(TIMEOUT)
                    .build()
                    .send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            return offline(
                    out,
                    "no agent is running here (nothing answers on " + host + ":" + d.port()
                            + "; start it: systemctl start prospector); from " + dataDir + ":");
        } catch (HttpTimeoutException e) {
            return offline(
                    out,
                    "the agent on " + host + ":" + d.port() + " does not answer within " + TIMEOUT.toSeconds()
                            + " s (stuck? see journalctl -u prospector); from " + dataDir + ":");
        } catch (IOException e) {
            return offline(
                    out,
                    "cannot reach the agent on " + host + ":" + d.port() + " (" + e.getMessage() + "); from " + dataDir
                            + ":");
        }
        if (answer.statusCode() == 401 || answer.statusCode() == 303) {
            throw new Failure(
                    "the agent's dashboard wants its password and " + token
                            + " cannot be read: run this as root or as the agent's user",
                    Failure.Kind.UNAVAILABLE);
        }
        if (answer.statusCode() != 200 || answer.body().length > MAX_ANSWER) {
            throw new Failure(
                    "the service on " + uri + " answered HTTP " + answer.statusCode()
                            + ": is it a prospector agent? check --dashboard-port",
                    Failure.Kind.UNAVAILABLE);
        }
        CBORObject s;
        try {
            s = CBORObject.FromJSONString(
                    new String(answer.body(), StandardCharsets.UTF_8),
                    new com.upokecenter.cbor.JSONOptions("keepkeyorder=true;numberconversion=double"));
        } catch (CBORException e) {
            throw new Failure(
                    "the service on " + uri + " did not answer JSON: is it a prospector agent? check --dashboard-port",
                    Failure.Kind.UNAVAILABLE);
        }
        if (s.getType() != CBORType.Map || s.get("device") == null) {
            throw new Failure(
                    "the service on " + uri + " is not a prospector agent: check --dashboard-port",
                    Failure.Kind.UNAVAILABLE);
        }
        if (json) {
            s.Set("key_file", keyFile.toString());
            s.Set("running", true);
            out.println(JsonOutput.of(s));
            out.flush();
            return ExitCodes.OK;
        }
        Table t = new Table("what", "status");
        t.row("device", text(s, "device") + " (fleet " + text(s, "fleet") + ", version " + text(s, "version") + ")");
        t.row("key file", keyFile);
        CBORObject c = s.get("connection");
        t.row(
                "broker",
                (bool(c, "connected") ? "connected" : "NOT connected") + ", " + text(c, "reconnects")
                        + " reconnect(s), delivery by " + text(c, "delivery"));
        t.row("agent up", text(s, "uptime_seconds") + " s");
        CBORObject r = s.get("last_report");
        t.row(
                "last report",
                r == null || r.isNull()
                        ? "none yet"
                        : "seq " + text(r, "seq") + ", " + text(r, "age_seconds") + " s ago, " + text(r, "status"));
        CBORObject rc = s.get("last_receipt");
        t.row("last receipt", rc == null || rc.isNull() ? "none yet" : text(rc, "text"));
        t.row("clock", text(s.get("clock"), "text"));
        CBORObject o = s.get("outbox");
        t.row("outbox", text(o, "pending") + " report(s), " + text(o, "bytes") + " bytes waiting");
        CBORObject rep = s.get("reports");
        t.row(
                "reports",
                text(rep, "made") + " made, " + text(rep, "accepted") + " accepted, " + text(rep, "rejected")
                        + " rejected");
        t.row("plot", text(s.get("plot"), "text"));
        CBORObject h = s.get("health");
        StringBuilder health = new StringBuilder();
        CBORObject temp = h == null ? null : h.get("temperature_celsius");
        health.append(
                temp == null || temp.isNull()
                        ? "temperature unavailable"
                        : String.format(Locale.ROOT, "%.1f °C", Double.parseDouble(JsonOutput.of(temp))));
        CBORObject warnings = h == null ? null : h.get("warnings");
        if (warnings != null && warnings.getType() == CBORType.Array && warnings.size() > 0) {
            for (int i = 0; i < warnings.size(); i++) {
                health.append("; ").append(warnings.get(i).AsString());
            }
        } else {
            health.append(", no warning");
        }
        t.row("hardware", health);
        t.row("dashboard", "http://" + host + ":" + d.port() + "/");
        t.print(out);
        return ExitCodes.OK;
    }

    /** Where this board's agent answers: loopback unless it is bound to one other address. */
    private static String host(DashboardSettings d) {
        try {
            InetAddress a = InetAddress.getByName(d.bind());
            return a.isAnyLocalAddress() || a.isLoopbackAddress()
                    ? "127.0.0.1"
                    : a.getHostAddress().contains(":") ? "[" + a.getHostAddress() + "]" : a.getHostAddress();
        } catch (IOException e) {
            throw new Failure("--dashboard-bind " + d.bind() + " is not an address of this board");
        }
    }

    private static String text(CBORObject m, String key) {
        if (m == null || m.getType() != CBORType.Map) {
            return "?";
        }
        CBORObject v = m.get(key);
        if (v == null || v.isNull()) {
            return "–";
        }
        return v.getType() == CBORType.TextString ? v.AsString() : JsonOutput.of(v);
    }

    private static boolean bool(CBORObject m, String key) {
        CBORObject v = m == null ? null : m.get(key);
        return v != null && v.isTrue();
    }

    /** No agent to ask: one line saying so, then what the data dir shows; exit 3. */
    private int offline(PrintWriter out, String why) {
        Path pub = dataDir.resolve(DeviceKeys.PUBLIC_KEY_FILE);
        Path key = dataDir.resolve(DeviceKeys.PRIVATE_KEY_FILE);
        String device;
        try {
            device = Files.isRegularFile(pub)
                    ? DeviceId.of(DeviceKeys.readPublicKey(pub)).value()
                    : "no key yet";
        } catch (RuntimeException e) {
            device = "unreadable key (" + e.getMessage() + ")";
        }
        long outbox = size(dataDir.resolve(AgentWiring.OUTBOX_FILE));
        long plot = size(dataDir.resolve(PlotFile.BIN));
        boolean plotDone = Files.isRegularFile(dataDir.resolve(PlotFile.TREE));
        if (json) {
            CBORObject o = CBORObject.NewOrderedMap()
                    .Add("running", false)
                    .Add("why", why)
                    .Add("device", device)
                    .Add("key_file", Files.isRegularFile(key) ? key.toString() : null)
                    .Add("outbox_file_bytes", outbox < 0 ? null : outbox)
                    .Add("plot_file_bytes", plot < 0 ? null : plot);
            out.println(JsonOutput.of(o));
        } else {
            out.println(why);
            Table t = new Table("what", "status");
            t.row("device", device);
            t.row("key file", Files.isRegularFile(key) ? key : "none (made on the agent's first start)");
            t.row(
                    "outbox",
                    outbox < 0 ? "none" : outbox + " bytes on disk (reports waiting are counted by the running agent)");
            t.row("plot", plot < 0 ? "none" : (plot >> 20) + " MiB on disk" + (plotDone ? " (tree written)" : ""));
            t.print(out);
        }
        out.flush();
        return ExitCodes.UNAVAILABLE;
    }

    private static long size(Path f) {
        try {
            return Files.isRegularFile(f) ? Files.size(f) : -1;
        } catch (IOException e) {
            return -1;
        }
    }
}
