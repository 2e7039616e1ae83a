package dev.prospector.agent.update;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.prospector.agent.console.DeviceView;
import dev.prospector.agent.console.FleetConsole;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.SupervisedProspector;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.OperatorKey;
import dev.prospector.attest.Sha256;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration pushes and software updates end to end: a board started through the source tree's
 * launcher script and kept running as systemd would ({@link SupervisedProspector}: restarted after
 * exit 75 or a failure), a real Mosquitto, a loopback HTTP server for the artifact, and the
 * operator's console sending admin-signed commands. Each test prints what it tried and what came
 * of it.
 */
class UpdateIT {
    private static final String FLEET = "upd";
    private static final Duration ANSWER = Duration.ofSeconds(150);

    @TempDir
    Path dir;

    private Mosquitto broker;
    private HttpServer http;
    private final AtomicInteger downloads = new AtomicInteger();
    private volatile byte[] served = new byte[0];
    private OperatorKey admin;
    private SupervisedProspector board;
    private FleetConsole console;
    private String device;

    @BeforeEach
    void start() throws Exception {
        broker = Mosquitto.start(dir.resolve("mosquitto"));
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/release.tar.gz", x -> {
            downloads.incrementAndGet();
            byte[] b = served;
            x.sendResponseHeaders(200, b.length);
            x.getResponseBody().write(b);
            x.close();
        });
        http.start();
        admin = OperatorKey.generate();
        admin.write(dir.resolve("admin"));
        Files.writeString(
                dir.resolve("prospector.conf"),
                "broker = " + broker.url() + "\n"
                        + "fleet = " + FLEET + "\n"
                        + "board = emulated\n"
                        + "interval = 1s\n"
                        + "operator-key = " + dir.resolve("admin").resolve(OperatorKey.PUBLIC_KEY_FILE) + ":admin\n");
        board = SupervisedProspector.start(
                SupervisedProspector.sourceLauncher(),
                Map.of("PROSPECTOR_JAVA_OPTS", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx128m"),
                dir.resolve("logs"),
                "board",
                "run",
                "--config",
                dir.resolve("prospector.conf").toString(),
                "--data-dir",
                data().toString());
        console = new FleetConsole(MqttSettings.of(BrokerUrl.parse(broker.url()), FleetConsole.clientId()), FLEET);
        console.connect(Duration.ofSeconds(10));
        await("the board's birth")
                .atMost(Duration.ofSeconds(90))
                .until(() -> console.devices().values().stream()
                        .anyMatch(v -> v.online() && v.key().isPresent()));
        device = console.devices().values().stream()
                .filter(DeviceView::online)
                .findFirst()
                .orElseThrow()
                .device();
    }

    @AfterEach
    void stop() {
        if (console != null) {
            console.close();
        }
        if (board != null) {
            board.close();
            System.out.println("board starts: " + board.starts() + ", exits " + board.exits());
        }
        if (http != null) {
            http.stop(0);
        }
        if (broker != null) {
            broker.close();
        }
    }

    private Path data() {
        return dir.resolve("data");
    }

    private String url() {
        return "http://127.0.0.1:" + http.getAddress().getPort() + "/release.tar.gz";
    }

    private FleetCommand command(String name, Map<String, Object> args) {
        return console.command(
                FleetCommand.DEVICE_PREFIX + device, name, args, Duration.ofMinutes(5), Clock.systemUTC());
    }

    private CommandResult send(FleetCommand c) throws InterruptedException {
        return send(c, c.sign(admin));
    }

    private CommandResult send(FleetCommand c, byte[] bytes) throws InterruptedException {
        var outcome =
                console.sendBytes(c, bytes, ANSWER, r -> System.out.println("  " + r.status() + " " + r.reason()));
        return outcome.results().get(device);
    }

    private Map<String, Object> updateArgs(String version, byte[] artifact, byte[] signedHash) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("version", version);
        a.put("url", url());
        a.put("sha256", HexFormat.of().formatHex(signedHash));
        a.put("size", (long) artifact.length);
        a.put("timeout", 60L);
        return a;
    }

    /** This build's jar set as a release: what `tar` makes of agent/cli/target's prospector.jar and lib/*.jar. */
    private byte[] release() throws Exception {
        Path target = SupervisedProspector.sourceLauncher().getParent().resolve("agent/cli/target");
        List<String> cmd = new ArrayList<>(List.of(
                "tar",
                "--format=ustar",
                "-czf",
                dir.resolve("release.tar.gz").toString(),
                "-C",
                target.toString(),
                "prospector.jar"));
        try (Stream<Path> jars = Files.list(target.resolve("lib"))) {
            jars.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> cmd.add("lib/" + p.getFileName()));
        }
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertEquals(0, p.waitFor(), "tar");
        return Files.readAllBytes(dir.resolve("release.tar.gz"));
    }

    /** A release whose program cannot start: a jar that names a main class it does not hold. */
    private byte[] brokenRelease() throws Exception {
        Path stage = dir.resolve("broken");
        Files.createDirectories(stage);
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "dev.prospector.agent.Main");
        try (var out = new JarOutputStream(Files.newOutputStream(stage.resolve("prospector.jar")), m)) {
            out.flush();
        }
        Process p = new ProcessBuilder(
                        "tar",
                        "--format=ustar",
                        "-czf",
                        dir.resolve("broken.tar.gz").toString(),
                        "-C",
                        stage.toString(),
                        "prospector.jar")
                .inheritIO()
                .start();
        assertEquals(0, p.waitFor(), "tar");
        return Files.readAllBytes(dir.resolve("broken.tar.gz"));
    }

    /** The board's threads, when it did not do what it should (for the failure's report). */
    private void dumpThreads() throws Exception {
        Process p = board.process();
        if (p != null && p.isAlive()) {
            String java =
                    Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            Process j = new ProcessBuilder(java, Long.toString(p.pid()), "Thread.print")
                    .redirectErrorStream(true)
                    .start();
            System.out.println(new String(j.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        System.out.println(board.stderr());
    }

    @Test
    void aGoodUpdateRunsTheNewVersionOnceItIsHealthy() throws Exception {
        byte[] release = release();
        served = release;
        CommandResult r = send(command("update", updateArgs("2.0.0-it", release, Sha256.of(release))));
        System.out.println("update to 2.0.0-it (" + release.length + " bytes, right hash): " + r);
        if (r == null || !r.status().equals("ok")) {
            dumpThreads();
        }
        assertNotNull(r, "a final answer");
        assertEquals("ok", r.status(), r.reason() + "\n" + board.stderr());
        VersionSlots slots = new VersionSlots(data());
        assertEquals(java.util.Optional.of("2.0.0-it"), slots.current());
        assertTrue(slots.trial().isEmpty(), "the trial ended");
        String cmdline = Files.readString(Path.of("/proc/" + board.process().pid() + "/cmdline"));
        System.out.println("the board now runs: " + cmdline.replace('\0', ' '));
        assertTrue(cmdline.contains("versions/2.0.0-it/prospector.jar"), cmdline);
        assertEquals(1, downloads.get());
        assertTrue(board.exits().contains(75), "applied by the restart path: " + board.exits());
    }

    @Test
    void aCorruptedDownloadIsNotInstalledAndTheBoardKeepsRunning() throws Exception {
        byte[] release = release();
        byte[] corrupted = release.clone();
        corrupted[corrupted.length / 2] ^= 0x01;
        served = corrupted;
        CommandResult r = send(command("update", updateArgs("2.0.1-it", release, Sha256.of(release))));
        System.out.println("update with one flipped bit in the download: " + r);
        assertEquals("failed", r.status());
        assertTrue(r.reason().contains("SHA-256"), r.reason());
        assertEquals(1, downloads.get());
        VersionSlots slots = new VersionSlots(data());
        assertEquals(List.of(), slots.installed());
        assertTrue(slots.current().isEmpty());
        assertEquals(1, board.starts(), "no restart");
        assertEquals("ok", send(command("ping", Map.of())).status(), "the board still answers");
    }

    @Test
    void anUpdateWhoseSignedHashWasSwappedIsRefusedBeforeAnyDownload() throws Exception {
        byte[] release = release();
        byte[] evil = brokenRelease();
        served = evil;
        // The admin signed an update to the real release; an attacker on the broker swaps in the
        // hash and size of their own artifact. The hash is inside the signed payload.
        FleetCommand c = command("update", updateArgs("2.0.2-it", release, Sha256.of(release)));
        byte[] signed = c.sign(admin);
        String good = HexFormat.of().formatHex(Sha256.of(release));
        String bad = HexFormat.of().formatHex(Sha256.of(evil));
        String text = new String(signed, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains(good));
        byte[] tampered = text.replace(good, bad).getBytes(StandardCharsets.ISO_8859_1);
        // A refusal of a command whose signature fails names no command id (the payload is not
        // trusted enough to read it), so the console cannot match it: the board's log says it.
        var outcome = console.sendBytes(c, tampered, Duration.ofSeconds(10), x -> {});
        await("the board's refusal")
                .atMost(Duration.ofSeconds(30))
                .until(() -> board.stderr().contains("bad signature"));
        System.out.println("update with the signed hash swapped for another artifact's: "
                + outcome.results().size() + " matched answer(s); board log: "
                + board.stderr()
                        .lines()
                        .filter(l -> l.contains("bad signature"))
                        .findFirst()
                        .orElse("?"));
        assertTrue(outcome.results().isEmpty(), "nothing ran under that command id");
        assertEquals(0, downloads.get(), "nothing downloaded");
        assertEquals(List.of(), new VersionSlots(data()).installed());
        assertEquals(1, board.starts());
    }

    @Test
    void aVersionThatDoesNotComeUpIsRolledBack() throws Exception {
        byte[] broken = brokenRelease();
        served = broken;
        CommandResult r = send(command("update", updateArgs("2.0.3-it", broken, Sha256.of(broken))));
        System.out.println("update to a version whose JVM cannot start: " + r + "; starts " + board.starts()
                + ", exits " + board.exits());
        assertEquals("failed", r.status());
        assertTrue(r.reason().contains("did not start"), r.reason());
        VersionSlots slots = new VersionSlots(data());
        assertTrue(slots.current().isEmpty(), "back on the packaged program");
        assertTrue(slots.trial().isEmpty());
        assertFalse(Files.exists(slots.dir().resolve("2.0.3-it")), "the failed version is gone");
        assertTrue(board.stderr().contains("putting back"), "the launcher said so");
        assertEquals("ok", send(command("ping", Map.of())).status(), "the board answers again");
    }

    @Test
    void aConfigPushThatBreaksTheBrokerUrlRollsBackByItself() throws Exception {
        int dead;
        try (var s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        String pushed = "broker = tcp://127.0.0.1:" + dead + "\n";
        CommandResult r = send(command("set-config", Map.of("config", pushed, "timeout", 10L)));
        System.out.println("pushed `" + pushed.trim() + "` with a 10 s timeout: " + r + "; exits " + board.exits());
        assertEquals("failed", r.status());
        assertTrue(r.reason().contains("rolled back"), r.reason());
        assertTrue(ConfigStore.layer(data()).isEmpty(), "no pushed layer any more");
        assertTrue(new ConfigStore(data()).trial().isEmpty());
        assertEquals(List.of(75, 75), board.exits(), "applied, then rolled back, by restarts");
    }

    @Test
    void aConfigPushIsValidatedBeforeAnythingChanges() throws Exception {
        for (String pushed :
                List.of("intreval = 5s\n", "interval = soon\n", "data-dir = /tmp/elsewhere\n", "operator-key =\n")) {
            CommandResult r = send(command("set-config", Map.of("config", pushed)));
            System.out.println("pushed `" + pushed.trim() + "`: " + r.status() + " " + r.reason());
            assertEquals("refused", r.status());
        }
        assertTrue(ConfigStore.layer(data()).isEmpty());
        CommandResult ok = send(command("set-config", Map.of("config", "interval = 2s\n", "timeout", 60L)));
        System.out.println("pushed `interval = 2s`: " + ok.status() + " " + ok.result());
        assertEquals("ok", ok.status());
        assertEquals("interval = 2s\n", ConfigStore.layer(data()).orElseThrow().text());
    }
}
