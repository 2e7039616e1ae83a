package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.console.DeviceView;
import dev.prospector.agent.console.FleetConsole;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.Hex;
import dev.prospector.attest.KeyCustodyException;
import dev.prospector.attest.OperatorKey;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code prospector fleet}: the operator's console (issue 14). See docs/FLEET.md. */
@Command(
        name = "fleet",
        mixinStandardHelpOptions = true,
        description = {
            "Find, inspect and command boards (operators).",
            "Commands are signed with an operator key (fleet keygen) that the boards list in their config"
                    + " (--operator-key FILE[:ROLE]); their answers are signed by the boards' device keys."
        },
        subcommands = {
            FleetConsoleCommand.Keygen.class,
            FleetConsoleCommand.ListDevices.class,
            FleetConsoleCommand.Status.class,
            FleetConsoleCommand.Send.class,
            FleetConsoleCommand.Watch.class,
            FleetUpdateCommand.class
        })
public final class FleetConsoleCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(
                spec.commandLine(),
                "missing subcommand: keygen, list, status, send, watch or update (see prospector fleet --help)");
    }

    /** Options of every subcommand that talks to the broker. */
    static final class Connection {
        @Mixin
        FleetOptions fleet;

        @Mixin
        BrokerSecurityOptions security;

        @Option(names = "--json", description = "One JSON document for scripts instead of a table.")
        boolean json;

        @Option(
                names = "--sync-timeout",
                defaultValue = "10s",
                converter = DurationConverter.class,
                description = "Longest wait for the broker's retained states (default: ${DEFAULT-VALUE}).")
        Duration syncTimeout;

        FleetConsole open() throws InterruptedException {
            MqttSettings settings = security.apply(MqttSettings.of(fleet.broker(), FleetConsole.clientId()));
            var console = new FleetConsole(settings, fleet.fleet());
            try {
                console.connect(syncTimeout);
            } catch (RuntimeException | InterruptedException e) {
                console.close();
                throw e;
            }
            return console;
        }
    }

    // ------------------------------------------------------------------ keygen

    @Command(
            name = "keygen",
            mixinStandardHelpOptions = true,
            description = {
                "Create an operator key (operator.key, operator.pub).",
                "Writes DIR/operator.key (PKCS#8 PEM, mode 0600) and DIR/operator.pub; give boards the .pub with its"
                        + " role: prospector run --operator-key DIR/operator.pub:admin"
            })
    static final class Keygen implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Folder for the key files.")
        Path dir;

        @Override
        public Integer call() {
            OperatorKey key = OperatorKey.generate();
            try {
                key.write(dir);
            } catch (KeyCustodyException e) {
                throw new Failure(e.getMessage());
            }
            var out = spec.commandLine().getOut();
            out.println("wrote " + dir.resolve(OperatorKey.PRIVATE_KEY_FILE) + " (mode 0600) and "
                    + dir.resolve(OperatorKey.PUBLIC_KEY_FILE));
            out.println("key id " + Hex.encode(key.keyId()));
            out.flush();
            return ExitCodes.OK;
        }
    }

    // ------------------------------------------------------------------ list

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = {
                "List the fleet's devices from the broker's retained states.",
                "Online or offline, last seen, version, board, groups, last report accepted or rejected and why."
            })
    static final class ListDevices implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Connection connection;

        @Override
        public Integer call() throws InterruptedException {
            long start = System.nanoTime();
            FleetConsole console = connection.open();
            Map<String, DeviceView> devices;
            try {
                devices = console.devices();
            } catch (RuntimeException e) {
                console.close();
                throw e;
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // The retained states are in: the disconnect (a round trip to the broker) runs while
            // the output is written.
            Thread closing = new Thread(console::close, "fleet-list-close");
            closing.start();
            PrintWriter out = spec.commandLine().getOut();
            if (connection.json) {
                out.print(FleetListOutput.json(devices.values(), ms).append(System.lineSeparator()));
            } else {
                long online =
                        devices.values().stream().filter(DeviceView::online).count();
                out.print(FleetListOutput.table(devices.values(), Instant.now(), System.lineSeparator())
                        .append(devices.size() + " device(s), " + online + " online (read in " + ms + " ms)")
                        .append(System.lineSeparator()));
            }
            out.flush();
            closing.join();
            return ExitCodes.OK;
        }
    }

    static String ago(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s < 120
                ? s + "s ago"
                : s < 7200 ? (s / 60) + "m ago" : s < 172800 ? (s / 3600) + "h ago" : (s / 86400) + "d ago";
    }

    static CBORObject json(DeviceView v) {
        CBORObject o = CBORObject.NewOrderedMap()
                .Add("device", v.device())
                .Add("online", v.online())
                .Add("last_seen", v.lastSeen().map(Instant::toString).orElse(null))
                .Add("version", v.version())
                .Add("board", v.board())
                .Add("groups", CBORObject.FromObject(v.groups()))
                .Add("last_report", v.lastReport())
                .Add("key", v.key().map(Hex::encode).orElse(null));
        if (!v.keyProblem().isEmpty()) {
            o.Add("key_problem", v.keyProblem());
        }
        v.summary().ifPresent(s -> o.Add("summary", CBORObject.FromObject(s)));
        return o;
    }

    // ------------------------------------------------------------------ status

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            description = {
                "Show one device's state.",
                "Its retained state and, with --signing-key, its own answer to a status command."
            })
    static final class Status implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Connection connection;

        @Parameters(index = "0", paramLabel = "DEVICE", description = "The device id.")
        String device;

        @Option(
                names = "--signing-key",
                paramLabel = "FILE",
                description = "Operator key (operator.key) to ask the board itself.")
        Path signingKey;

        @Option(
                names = "--timeout",
                defaultValue = "10s",
                converter = DurationConverter.class,
                description = "How long to wait for the board's answer (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        @Override
        public Integer call() throws InterruptedException {
            requireDevice(device);
            try (FleetConsole console = connection.open()) {
                DeviceView v = console.devices().get(device);
                if (v == null) {
                    throw new Failure("device " + device + " is unknown to the broker: no retained state under fleet "
                            + connection.fleet.fleet() + " (check --fleet, or run prospector fleet list)");
                }
                CBORObject doc = json(v);
                int code = ExitCodes.OK;
                if (signingKey != null) {
                    OperatorKey key = loadKey(signingKey);
                    var cmd = console.command(
                            FleetCommand.DEVICE_PREFIX + device,
                            "status",
                            Map.of(),
                            Duration.ofMinutes(5),
                            Clock.systemUTC());
                    var outcome = console.send(cmd, key, timeout, r -> {});
                    CommandResult r = outcome.results().get(device);
                    doc.Add("answer", r == null ? null : resultJson(r));
                    code = outcome.allOk() ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
                }
                PrintWriter out = spec.commandLine().getOut();
                if (connection.json) {
                    out.println(JsonOutput.of(doc));
                } else {
                    Table t = new Table("FIELD", "VALUE");
                    for (CBORObject k : doc.getKeys()) {
                        CBORObject val = doc.get(k);
                        t.row(
                                k.AsString(),
                                val == null || val.isNull()
                                        ? "-"
                                        : val.getType() == com.upokecenter.cbor.CBORType.TextString
                                                ? val.AsString()
                                                : JsonOutput.of(val));
                    }
                    t.print(out);
                }
                out.flush();
                return code;
            }
        }
    }

    static void requireDevice(String device) {
        if (!DeviceId.isValid(device)) {
            throw new Failure("'" + device
                    + "' is not a device id (p followed by 24 base32 characters; see prospector fleet list)");
        }
    }

    static OperatorKey loadKey(Path file) {
        try {
            return OperatorKey.load(file);
        } catch (KeyCustodyException e) {
            throw new Failure("--signing-key: " + e.getMessage());
        }
    }

    static CBORObject resultJson(CommandResult r) {
        return CBORObject.NewOrderedMap()
                .Add("device", r.device().value())
                .Add("command", r.commandId())
                .Add("status", r.status())
                .Add("reason", r.reason())
                .Add("result", CBORObject.DecodeFromBytes(dev.prospector.attest.Cbor.encode(r.result())))
                .Add("at", r.at().toString());
    }

    // ------------------------------------------------------------------ send

    @Command(
            name = "send",
            mixinStandardHelpOptions = true,
            description = {
                "Send a signed command and collect the answers.",
                "To one device, a group (--group) or every device (--all); the signed answers show as they come,"
                        + " then a summary of who answered what.",
                "Commands: ping, status, report-now, identify [seconds=N], restart, rotate-key (and what the boards"
                        + " add: set-config, update). ARGS are KEY=VALUE (numbers, true/false, else text).",
                "Exit code 0 only if every target answered ok; 1 otherwise."
            })
    static final class Send implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Connection connection;

        static final class Target {
            @Option(names = "--device", paramLabel = "DEVICE", description = "One device.")
            String device;

            @Option(names = "--group", paramLabel = "GROUP", description = "Every online device of a group.")
            String group;

            @Option(names = "--all", description = "Every online device of the fleet.")
            boolean all;
        }

        @ArgGroup(exclusive = true, multiplicity = "0..1")
        Target target;

        @Parameters(paramLabel = "[DEVICE] COMMAND [KEY=VALUE...]", description = "The command and its arguments.")
        List<String> words = new ArrayList<>();

        @Option(
                names = "--signing-key",
                required = true,
                paramLabel = "FILE",
                description = "Operator key (operator.key or its folder).")
        Path signingKey;

        @Option(
                names = "--timeout",
                defaultValue = "30s",
                converter = DurationConverter.class,
                description = "How long to wait for answers (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        @Option(
                names = "--expiry",
                defaultValue = "5m",
                converter = DurationConverter.class,
                description =
                        "How long the command stays valid on the boards (default: ${DEFAULT-VALUE}; at most 24h).")
        Duration expiry;

        @Override
        public Integer call() throws InterruptedException {
            List<String> w = new ArrayList<>(words);
            String to;
            if (target != null && target.all) {
                to = FleetCommand.ALL;
            } else if (target != null && target.group != null) {
                to = FleetCommand.GROUP_PREFIX + target.group;
            } else if (target != null && target.device != null) {
                to = FleetCommand.DEVICE_PREFIX + target.device;
            } else if (!w.isEmpty()) {
                to = FleetCommand.DEVICE_PREFIX + w.remove(0);
            } else {
                throw new Failure("no target: give DEVICE, --group GROUP or --all, then the command");
            }
            if (to.startsWith(FleetCommand.DEVICE_PREFIX)) {
                requireDevice(to.substring(FleetCommand.DEVICE_PREFIX.length()));
            }
            if (w.isEmpty()) {
                throw new Failure("no command: give one of ping, status, report-now, identify, restart, rotate-key");
            }
            String name = w.remove(0);
            Map<String, Object> args = parseArgs(w);
            OperatorKey key = loadKey(signingKey);
            var err = spec.commandLine().getErr();
            try (FleetConsole console = connection.open()) {
                FleetCommand cmd;
                try {
                    cmd = console.command(to, name, args, expiry, Clock.systemUTC());
                } catch (IllegalArgumentException e) {
                    throw new Failure(e.getMessage());
                }
                var expected = console.expected(to);
                AtomicInteger seen = new AtomicInteger();
                if (!connection.json) {
                    err.println("sent " + cmd.id() + " (" + name + " to " + to + "), waiting for " + expected.size()
                            + " answer(s), at most " + timeout.toSeconds() + " s");
                    err.flush();
                }
                var outcome = console.send(cmd, key, timeout, r -> {
                    int n = seen.incrementAndGet();
                    if (!connection.json && (expected.size() <= 20 || n % Math.max(1, expected.size() / 10) == 0)) {
                        err.println("  " + n + "/" + expected.size() + " "
                                + r.device().value() + " " + r.status()
                                + (r.reason().isEmpty() ? "" : ": " + r.reason()));
                        err.flush();
                    }
                });
                print(console, outcome);
                return outcome.allOk() ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
            }
        }

        private void print(FleetConsole console, FleetConsole.Outcome outcome) {
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Integer> counts = new TreeMap<>();
            List<String> missing = new ArrayList<>();
            for (String d : outcome.expected()) {
                CommandResult r = outcome.results().get(d);
                if (r == null) {
                    missing.add(d);
                    counts.merge("no answer", 1, Integer::sum);
                } else {
                    counts.merge(r.status(), 1, Integer::sum);
                }
            }
            List<String> offline = console.devices().values().stream()
                    .filter(v -> !v.online() && !outcome.expected().contains(v.device()))
                    .map(DeviceView::device)
                    .toList();
            if (connection.json) {
                CBORObject results = CBORObject.NewArray();
                outcome.results().values().forEach(r -> results.Add(resultJson(r)));
                CBORObject miss = CBORObject.NewArray();
                missing.stream().sorted().forEach(miss::Add);
                CBORObject off = CBORObject.NewArray();
                offline.forEach(off::Add);
                out.println(JsonOutput.of(CBORObject.NewOrderedMap()
                        .Add("command", outcome.command().id())
                        .Add("name", outcome.command().name())
                        .Add("target", outcome.command().target())
                        .Add("expected", outcome.expected().size())
                        .Add("counts", CBORObject.FromObject(counts))
                        .Add("results", results)
                        .Add("no_answer", miss)
                        .Add("offline_not_asked", off)
                        .Add("millis", outcome.took().toMillis())
                        .Add("ok", outcome.allOk())));
            } else {
                if (outcome.expected().size() <= 50) {
                    Table t = new Table("DEVICE", "STATUS", "REASON", "RESULT");
                    for (String d : new java.util.TreeSet<>(outcome.expected())) {
                        CommandResult r = outcome.results().get(d);
                        t.row(
                                d,
                                r == null ? "no answer" : r.status(),
                                r == null ? "-" : r.reason().isEmpty() ? "-" : r.reason(),
                                r == null
                                        ? "-"
                                        : JsonOutput.of(CBORObject.DecodeFromBytes(
                                                dev.prospector.attest.Cbor.encode(r.result()))));
                    }
                    t.print(out);
                }
                var summary = new ArrayList<String>();
                counts.forEach((k, v) -> summary.add(v + " " + k));
                out.println(outcome.command().id() + ": " + outcome.expected().size() + " target(s): "
                        + (summary.isEmpty() ? "none" : String.join(", ", summary)) + " in "
                        + outcome.took().toMillis() + " ms"
                        + (offline.isEmpty() ? "" : "; " + offline.size() + " offline, not asked"));
            }
            out.flush();
        }
    }

    /** KEY=VALUE words as command arguments: integers, true/false, else text. */
    static Map<String, Object> parseArgs(List<String> words) {
        Map<String, Object> args = new LinkedHashMap<>();
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq < 1) {
                throw new Failure("argument '" + w + "' is not KEY=VALUE");
            }
            String k = w.substring(0, eq);
            String v = w.substring(eq + 1);
            Object value = v;
            if (v.matches("-?[0-9]{1,18}")) {
                value = Long.parseLong(v);
            } else if (v.equals("true") || v.equals("false")) {
                value = Boolean.parseBoolean(v);
            }
            args.put(k, value);
        }
        return args;
    }

    // ------------------------------------------------------------------ watch

    @Command(
            name = "watch",
            mixinStandardHelpOptions = true,
            description = {
                "Show a live table of the fleet's devices.",
                "Redrawn every --every as their states change (Ctrl-C to stop)."
            })
    static final class Watch implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Connection connection;

        @Option(
                names = "--every",
                defaultValue = "2s",
                converter = DurationConverter.class,
                description = "Redraw at most this often (default: ${DEFAULT-VALUE}).")
        Duration every;

        @Option(names = "--count", paramLabel = "N", description = "Stop after N redraws (default: until Ctrl-C).")
        Integer count;

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter out = spec.commandLine().getOut();
            boolean terminal = System.console() != null && !connection.json;
            try (FleetConsole console = connection.open()) {
                for (int i = 0; count == null || i < count; i++) {
                    Map<String, DeviceView> devices = console.devices();
                    if (connection.json) {
                        CBORObject list = CBORObject.NewArray();
                        devices.values().forEach(v -> list.Add(json(v)));
                        out.println(JsonOutput.of(CBORObject.NewOrderedMap()
                                .Add("time", Instant.now().toString())
                                .Add("devices", list)));
                    } else {
                        if (terminal) {
                            out.print("\033[H\033[2J");
                        }
                        out.println("fleet " + connection.fleet.fleet() + " at " + Instant.now() + " (Ctrl-C to stop)");
                        out.print(FleetListOutput.table(devices.values(), Instant.now(), System.lineSeparator()));
                    }
                    out.flush();
                    if (count == null || i + 1 < count) {
                        Thread.sleep(every.toMillis()); // the redraw pace, not synchronisation
                    }
                }
            }
            return ExitCodes.OK;
        }
    }
}
