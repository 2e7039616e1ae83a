package dev.prospector.agent.systemd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.NotifySocket;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The systemd watchdog restarts a hung agent. The test plays systemd's part as {@code
 * prospector.service} configures it ({@code Type=notify}, {@code NotifyAccess=main}, {@code
 * WatchdogSec=}, {@code WatchdogSignal=SIGQUIT}, {@code Restart=on-failure}): it owns the notify
 * socket, starts {@code prospector run} with {@code NOTIFY_SOCKET} and {@code WATCHDOG_USEC} set,
 * waits for {@code READY=1}, expects a {@code WATCHDOG=1} within every {@code WATCHDOG_USEC}, and
 * when one is late sends SIGQUIT, then SIGKILL, and starts the agent again. Two hangs: the whole
 * JVM frozen ({@code kill -STOP}), and the report loop stuck while the JVM runs on (the {@link
 * AgentNode#HANG_TRIGGER_PROPERTY} hook), which only the agent's own progress check can see. After
 * each restart the agent must be ready again and its chain must go on: a verifier accepts its
 * reports with no rejection and no chain restart, and every report made is accepted or still in
 * the outbox.
 */
class WatchdogIT {
    /** {@code WatchdogSec=} of the test: pings every 1.5 s. */
    private static final Duration WATCHDOG = Duration.ofSeconds(3);
    /** {@code TimeoutStartSec=}: a cold JVM on this busy machine. */
    private static final Duration START_LIMIT = Duration.ofSeconds(90);
    /** How long the stuck report loop may take to stop the pings: 2 intervals + 30 s slack, and margin. */
    private static final Duration STALL_LIMIT = Duration.ofSeconds(90);

    private static final List<String> BOARD_JVM =
            List.of("-XX:+UseSerialGC", "-Xss256k", "-Xmx40m", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1");

    @TempDir
    Path dir;

    @Test
    void theWatchdogRestartsAFrozenAndAStuckAgent() throws Exception {
        Path logs = dir.resolve("logs");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            Appraiser appraiser =
                    new Appraiser(AppraiserConfig.defaults().withFleet("wd").withAllowEmulated(true));
            try (VerifierService verifier =
                            LocalStack.verifier(BrokerUrl.parse(broker.url()), "wd", appraiser, "v-wd");
                    NotifySocket socket =
                            NotifySocket.bind(dir.resolve("notify").toString())) {
                verifier.connect();
                Path pem = dir.resolve("verifier.pub");
                LocalStack.writePublicKeyPem(pem, verifier.receiptPublicKey());
                Path data = dir.resolve("board");
                Path hang = dir.resolve("hang-now");
                List<String> jvm = new ArrayList<>(BOARD_JVM);
                jvm.add("-D" + AgentNode.HANG_TRIGGER_PROPERTY + "=" + hang);
                Supervisor systemd = new Supervisor(
                        socket,
                        jvm,
                        logs,
                        List.of(
                                "run",
                                "--broker",
                                broker.url(),
                                "--fleet",
                                "wd",
                                "--data-dir",
                                data.toString(),
                                "--board",
                                "emulated",
                                "--interval",
                                "1s",
                                "--verifier-key",
                                pem.toString(),
                                "--plot-size",
                                "0"));
                try {
                    // 1. A healthy start: READY=1, then a ping within every WatchdogSec.
                    systemd.start();
                    systemd.awaitReady();
                    systemd.awaitPings(3);
                    long accepted = awaitAccepted(appraiser, 0, 2);
                    systemd.say("verifier accepted %d report(s)", accepted);

                    // 2. The whole JVM frozen: no thread runs, so no ping comes.
                    systemd.signal("STOP");
                    systemd.say("froze the agent (SIGSTOP)");
                    assertEquals(
                            0, systemd.awaitWatchdogTimeout(WATCHDOG.multipliedBy(3)), "no ping from a frozen JVM");
                    systemd.abort(false);
                    systemd.start();
                    systemd.awaitReady();
                    systemd.awaitPings(3);
                    accepted = awaitAccepted(appraiser, accepted, 2);
                    systemd.say("verifier accepted %d report(s)", accepted);

                    // 3. The report loop stuck, the JVM alive: the pings go on until the agent's
                    //    progress check gives up (two intervals plus 30 s), then stop.
                    Files.createFile(hang);
                    systemd.say("report loop told to hang (%s)", hang.getFileName());
                    await("the hook is taken").atMost(START_LIMIT).until(() -> !Files.exists(hang));
                    systemd.say("report loop hangs");
                    int pingsWhileStuck = systemd.awaitWatchdogTimeout(STALL_LIMIT);
                    assertTrue(systemd.agent().isAlive(), "the JVM runs on: only the agent can tell it is stuck");
                    String dump = systemd.abort(true);
                    assertTrue(
                            dump.contains("hungByTrigger"),
                            "the thread dump shows where the report thread hangs:\n" + dump);
                    dump.lines()
                            .dropWhile(l -> !l.startsWith("\"agent-"))
                            .takeWhile(l -> !l.isBlank())
                            .limit(11)
                            .forEach(l -> systemd.say("  dump: %s", l.strip()));
                    assertTrue(
                            systemd.agent().stderr().contains("the agent has made no progress lately"),
                            systemd.agent()::stderr);
                    systemd.say(
                            "%d ping(s) came while the loop was stuck, before the progress check gave up",
                            pingsWhileStuck);
                    systemd.start();
                    systemd.awaitReady();
                    systemd.awaitPings(3);
                    accepted = awaitAccepted(appraiser, accepted, 3);
                    systemd.say("verifier accepted %d report(s)", accepted);
                    systemd.agent().stop();
                    systemd.say("stopped (SIGTERM), exit %d", systemd.agent().exitCode());
                    assertEquals(0, systemd.agent().exitCode(), systemd.agent()::stderr);
                } finally {
                    systemd.close();
                    System.out.println("watchdog test, what systemd's stand-in saw:");
                    systemd.timeline.forEach(l -> System.out.println("  " + l));
                }

                // The chain went on across both kills: nothing rejected, no chain restart, and
                // every report made is accepted or still waiting in the outbox.
                String device = DeviceKeys.load(data).deviceId().value();
                long made = ChainState.open(data).seq();
                try (OutboxJournal outbox = OutboxJournal.open(data.resolve("outbox.journal"), 8 << 20, device)) {
                    long pending = outbox.pendingCount();
                    Appraiser.Stats stats = appraiser.stats();
                    System.out.printf(
                            "  chain: made %d, accepted %d, duplicates %d, chain restarts %d, gaps %d, rejected %s,"
                                    + " still in the outbox %d, lost %d%n",
                            made,
                            stats.accepted(),
                            stats.duplicates(),
                            stats.chainRestarts(),
                            stats.gapTotal(),
                            stats.rejected().values().stream()
                                    .mapToLong(Long::longValue)
                                    .sum(),
                            pending,
                            outbox.losses().count());
                    assertEquals(0, stats.chainRestarts(), "the restarted agent continued its chain");
                    assertEquals(0, stats.gapTotal(), "no seq skipped");
                    assertTrue(
                            stats.rejected().values().stream().allMatch(n -> n == 0),
                            () -> "no seq reused or report refused: " + stats.rejected());
                    assertEquals(made, stats.accepted() + pending, "every report is accepted or still kept");
                    assertEquals(0, outbox.losses().count());
                }
            }
        }
    }

    /** Waits until the verifier has accepted {@code more} reports beyond {@code before}; the new count. */
    private static long awaitAccepted(Appraiser appraiser, long before, int more) {
        await("reports accepted")
                .atMost(START_LIMIT)
                .until(() -> appraiser.stats().accepted() >= before + more);
        return appraiser.stats().accepted();
    }

    /** systemd's part, for one service: the notify socket, the watchdog clock, abort and restart. */
    private static final class Supervisor implements AutoCloseable {
        final List<String> timeline = new ArrayList<>();
        private final NotifySocket socket;
        private final List<String> jvm;
        private final Path logs;
        private final List<String> args;
        private final long t0 = System.nanoTime();
        private ProspectorProcess agent;
        private int starts;
        private long lastPingNanos;

        Supervisor(NotifySocket socket, List<String> jvm, Path logs, List<String> args) {
            this.socket = socket;
            this.jvm = jvm;
            this.logs = logs;
            this.args = args;
        }

        ProspectorProcess agent() {
            return agent;
        }

        void start() {
            starts++;
            agent = ProspectorProcess.start(
                    jvm,
                    Map.of("NOTIFY_SOCKET", socket.name(), "WATCHDOG_USEC", Long.toString(WATCHDOG.toNanos() / 1000)),
                    logs,
                    "agent-" + starts,
                    args.toArray(String[]::new));
            say(
                    "start %d: pid %d, NOTIFY_SOCKET set, WATCHDOG_USEC=%d",
                    starts, agent.pid(), WATCHDOG.toNanos() / 1000);
        }

        /** {@code READY=1} from the main process (others are ignored, as {@code NotifyAccess=main} does). */
        void awaitReady() throws InterruptedException {
            long started = System.nanoTime();
            long deadline = started + START_LIMIT.toNanos();
            while (true) {
                Optional<NotifySocket.Message> m = fromMain(deadline);
                if (m.isEmpty()) {
                    fail("no READY=1 within " + START_LIMIT.toSeconds() + " s (TimeoutStartSec=):\n" + agent.stderr());
                }
                if (m.get().text().startsWith("READY=1")) {
                    lastPingNanos = m.get().arrivedNanos();
                    say("READY=1, %.2f s after the start", (lastPingNanos - started) / 1e9);
                    return;
                }
            }
        }

        /** {@code n} pings, each within {@link #WATCHDOG} of the one before (or of READY=1). */
        void awaitPings(int n) throws InterruptedException {
            for (int got = 0; got < n; ) {
                Optional<NotifySocket.Message> m = fromMain(lastPingNanos + WATCHDOG.toNanos());
                if (m.isEmpty()) {
                    fail("a healthy agent missed its watchdog ping (" + WATCHDOG.toSeconds() + " s):\n"
                            + agent.stderr());
                }
                if (m.get().text().equals("WATCHDOG=1")) {
                    lastPingNanos = m.get().arrivedNanos();
                    got++;
                }
            }
        }

        /**
         * Waits as systemd's watchdog does, until {@link #WATCHDOG} passes without a ping; how many
         * pings came meanwhile. Fails if that takes longer than {@code limit}.
         */
        int awaitWatchdogTimeout(Duration limit) throws InterruptedException {
            long giveUp = System.nanoTime() + limit.toNanos();
            int pings = 0;
            while (true) {
                long due = lastPingNanos + WATCHDOG.toNanos();
                if (System.nanoTime() > giveUp) {
                    fail("the pings went on for " + limit.toSeconds() + " s:\n" + agent.stderr());
                }
                Optional<NotifySocket.Message> m = fromMain(due);
                if (m.isEmpty()) {
                    say(
                            "watchdog timeout: no WATCHDOG=1 for %.2f s (last at %s)",
                            (System.nanoTime() - lastPingNanos) / 1e9, at(lastPingNanos));
                    return pings;
                }
                if (m.get().text().equals("WATCHDOG=1")) {
                    lastPingNanos = m.get().arrivedNanos();
                    pings++;
                }
            }
        }

        /**
         * {@code WatchdogSignal=SIGQUIT}, then SIGKILL ({@code TimeoutAbortSec=}; here as soon as the
         * thread dump is out, when one is expected); the thread dump.
         */
        String abort(boolean expectDump) throws Exception {
            signal("QUIT");
            say("SIGQUIT sent");
            if (expectDump) {
                await("thread dump")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> agent.stdout().contains("Full thread dump")
                                && agent.stdout().contains("JNI global refs"));
                say("thread dump written (%d lines)", agent.stdout().lines().count());
            }
            signal("KILL");
            await("killed").atMost(Duration.ofSeconds(30)).until(() -> !agent.isAlive());
            say("SIGKILL sent: pid %d ended, exit %d; restarting (Restart=on-failure)", agent.pid(), agent.exitCode());
            return agent.stdout();
        }

        void signal(String name) throws Exception {
            Process kill = new ProcessBuilder("bash", "-c", "kill -" + name + " " + agent.pid())
                    .inheritIO()
                    .start();
            assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, kill.exitValue());
        }

        /** The next message from the main process before {@code deadline} (nanoTime); others logged and dropped. */
        private Optional<NotifySocket.Message> fromMain(long deadline) throws InterruptedException {
            while (true) {
                Optional<NotifySocket.Message> m = socket.next(Duration.ofNanos(deadline - System.nanoTime()));
                if (m.isEmpty()) {
                    return m;
                }
                NotifySocket.Message msg = m.get();
                if (msg.pid() != agent.pid()) {
                    say("ignored (not the main pid %d): pid %d %s", agent.pid(), msg.pid(), oneLine(msg.text()));
                    continue;
                }
                timeline.add(at(msg.arrivedNanos()) + "  pid " + msg.pid() + ": " + oneLine(msg.text()));
                return m;
            }
        }

        void say(String format, Object... args) {
            timeline.add(at(System.nanoTime()) + "  " + String.format(Locale.ROOT, format, args));
        }

        private String at(long nanos) {
            return String.format(Locale.ROOT, "%7.2f s", (nanos - t0) / 1e9);
        }

        private static String oneLine(String text) {
            return text.replace('\n', '|');
        }

        @Override
        public void close() {
            if (agent != null) {
                agent.close();
            }
        }
    }
}
