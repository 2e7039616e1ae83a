package dev.prospector.demo;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.broker.EmbeddedBroker;
import dev.prospector.agent.cli.DurationConverter;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.RunCommand;
import dev.prospector.agent.cli.Table;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.Partitioning;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.hardware.BoardSelection;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Run broker, verifier and emulated boards together in this process.",
            "An embedded MQTT broker on a free loopback port, a verifier and N emulated boards reporting to it.",
            "Prints a summary and exits 0 only when every report made was delivered (confirmed by the verifier's"
                    + " signed receipt) and accepted once."
        })
public final class DemoCommand implements Callable<Integer> {
    /** How long to wait, after the last report, for the outboxes to drain and the verifier to catch up. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(20);

    private static final String FLEET = "demo";

    @Spec
    CommandSpec spec;

    @Option(names = "--devices", defaultValue = "3", description = "Emulated boards (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--duration",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description = "How long the boards report (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(
            names = "--interval",
            defaultValue = "1s",
            converter = DurationConverter.class,
            description = "Time between one board's reports (default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(
            names = "--json",
            description = "Print the summary as a JSON array of {device, sent, accepted, rejected, answered}.")
    boolean json;

    /**
     * One board's line of the summary: what it made, what reached the broker, what its signed
     * receipts confirmed, and the verifier's counts.
     */
    record Row(
            String device,
            long made,
            long sent,
            long delivered,
            long accepted,
            long rejected,
            long answered,
            long pending,
            long published) {
        boolean ok() {
            return made > 0 && delivered == made && accepted == made && rejected == 0 && pending == 0;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (devices < 1 || devices > 1000) {
            throw new Failure("--devices " + devices + " is out of range: use 1 to 1000");
        }
        DurationConverter.requireAtLeast("--duration", duration, Duration.ofSeconds(1));
        DurationConverter.requireAtLeast("--interval", interval, RunCommand.MIN_INTERVAL);
        Progress progress = new Progress(spec.commandLine().getErr());
        Path work = Files.createTempDirectory("prospector-demo-");
        List<AgentNode> agents = new ArrayList<>();
        progress.say("starting the embedded MQTT broker");
        try (EmbeddedBroker broker = EmbeddedBroker.startOnFreePort()) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            // Wired as `prospector verifier` is: every receipt carries a challenge that the next report
            // answers and is signed by the verifier's key, whose public half (receipt-key/device.pub) the
            // boards trust. The demo's boards are emulated: their reports say so, and this verifier accepts them.
            VerifierWiring.Settings verifierSettings = VerifierWiring.Settings.inMemory(url, FLEET)
                    .withAllowEmulated(true)
                    .withPartitioning(new Partitioning("verifiers", 0, 1))
                    .withClientId("prospector-demo-verifier")
                    .withReceiptKeyDir(work.resolve("verifier").resolve("receipt-key"));
            try (VerifierWiring.Verifier wired =
                    VerifierWiring.open(verifierSettings, mqtt -> mqtt, Clock.systemUTC())) {
                VerifierService verifier = wired.service();
                Path receiptKey = wired.receiptPublicKeyFile().orElseThrow();
                verifier.connect();
                progress.say("broker on " + broker.url() + "; starting " + devices + " emulated board(s)");
                for (int i = 0; i < devices; i++) {
                    // Each board trusts the verifier's receipt key: a report leaves its outbox only when
                    // a receipt signed by that key names it.
                    var settings = new AgentWiring.RunSettings(
                                    url,
                                    FLEET,
                                    work.resolve("board-" + (i + 1)),
                                    BoardSelection.EMULATED,
                                    interval,
                                    AgentWiring.DEFAULT_OUTBOX_BYTES,
                                    i + 1,
                                    Set.of())
                            .withVerifierKeys(List.of(receiptKey));
                    AgentNode node = AgentWiring.agent(settings, Clock.systemUTC());
                    agents.add(node);
                    node.start();
                }
                long start = System.nanoTime();
                long end = start + duration.toNanos();
                while (System.nanoTime() < end) {
                    Thread.sleep(Math.min(250, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
                    progress.bar(System.nanoTime() - start, duration.toNanos(), totals(agents, verifier));
                }
                agents.forEach(AgentNode::stopReporting);
                long drainEnd = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
                while (System.nanoTime() < drainEnd && !settled(agents, verifier)) {
                    Thread.sleep(100);
                    progress.bar(duration.toNanos(), duration.toNanos(), totals(agents, verifier));
                }
                progress.done(totals(agents, verifier));
                List<Row> rows = rows(agents, verifier);
                print(rows, spec.commandLine().getOut());
                agents.forEach(AgentNode::close);
                return rows.stream().allMatch(Row::ok) ? 0 : ExitCodes.CHECK_FAILED;
            }
        } finally {
            agents.forEach(a -> {
                try {
                    a.close();
                } catch (RuntimeException e) {
                    // already closed
                }
            });
            deleteTree(work);
        }
    }

    private static boolean settled(List<AgentNode> agents, VerifierService verifier) {
        var counts = verifier.counts();
        for (AgentNode a : agents) {
            NodeStats s = a.stats();
            var c = counts.get(a.device());
            if (s.pending() > 0 || c == null || c.accepted() + c.rejected() < s.made()) {
                return false;
            }
        }
        return true;
    }

    private static String totals(List<AgentNode> agents, VerifierService verifier) {
        long made = 0;
        long delivered = 0;
        long accepted = 0;
        long rejected = 0;
        for (AgentNode a : agents) {
            NodeStats s = a.stats();
            made += s.made();
            delivered += s.delivered();
        }
        for (var c : verifier.counts().values()) {
            accepted += c.accepted();
            rejected += c.rejected();
        }
        return "made " + made + "  delivered " + delivered + "  accepted " + accepted + "  rejected " + rejected;
    }

    private static List<Row> rows(List<AgentNode> agents, VerifierService verifier) {
        var counts = verifier.counts();
        List<Row> rows = new ArrayList<>();
        for (AgentNode a : agents) {
            var c = counts.get(a.device());
            NodeStats s = a.stats();
            rows.add(new Row(
                    a.device(),
                    s.made(),
                    s.sent(),
                    s.delivered(),
                    c == null ? 0 : c.accepted(),
                    c == null ? 0 : c.rejected(),
                    c == null ? 0 : c.answered(),
                    s.pending(),
                    s.publishes()));
        }
        return rows;
    }

    private void print(List<Row> rows, PrintWriter out) {
        if (json) {
            CBORObject array = CBORObject.NewArray();
            for (Row r : rows) {
                array.Add(CBORObject.NewOrderedMap()
                        .Add("device", r.device())
                        .Add("made", r.made())
                        .Add("sent", r.sent())
                        .Add("delivered", r.delivered())
                        .Add("accepted", r.accepted())
                        .Add("rejected", r.rejected())
                        .Add("answered", r.answered())
                        .Add("pending", r.pending())
                        .Add("published", r.published()));
            }
            out.println(JsonOutput.of(array));
        } else {
            Table t = new Table("DEVICE", "MADE", "DELIVERED", "ACCEPTED", "REJECTED", "ANSWERED");
            rows.forEach(r -> t.row(r.device(), r.made(), r.delivered(), r.accepted(), r.rejected(), r.answered()));
            t.print(out);
            boolean ok = rows.stream().allMatch(Row::ok);
            out.println(
                    ok
                            ? "every report made was delivered and accepted once"
                            : "NOT every report made was delivered and accepted");
            out.println("DELIVERED: confirmed by a receipt signed by the verifier's key; "
                    + "ANSWERED: accepted reports that answered the challenge in the board's latest receipt");
        }
        out.flush();
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: it is a temp folder
        }
    }

    /** Progress on stderr: a redrawn bar on a terminal, a line every few seconds otherwise. */
    static final class Progress {
        private static final int WIDTH = 30;
        private final PrintWriter err;
        private final boolean terminal = System.console() != null;
        private long lastLine = -1;

        Progress(PrintWriter err) {
            this.err = err;
        }

        void say(String text) {
            err.println(text);
            err.flush();
        }

        void bar(long elapsedNanos, long totalNanos, String totals) {
            long elapsed = elapsedNanos / 1_000_000_000L;
            long total = totalNanos / 1_000_000_000L;
            if (terminal) {
                int filled = (int) Math.min(WIDTH, WIDTH * elapsedNanos / Math.max(1, totalNanos));
                err.print("\r[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + elapsed + "/" + total
                        + " s  " + totals + "   ");
                err.flush();
            } else if (elapsed / 5 != lastLine) {
                lastLine = elapsed / 5;
                err.println(elapsed + "/" + total + " s  " + totals);
                err.flush();
            }
        }

        void done(String totals) {
            if (terminal) {
                err.println();
            }
            err.println("done: " + totals);
            err.flush();
        }
    }
}
