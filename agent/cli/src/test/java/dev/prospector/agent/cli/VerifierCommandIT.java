package dev.prospector.agent.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.testing.VerifierOutput;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.VerifierClientId;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prospector verifier} as an operator runs it, in child processes against real Mosquitto:
 * waiting for its broker, one process per state dir, the receipt key and client id it keeps, and
 * a damaged accepted log that stops it until repaired.
 */
class VerifierCommandIT {
    private static final String FLEET = "cmd";
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern KEY_LINE =
            Pattern.compile("receipts are signed by key (p[a-z2-7]{24}); boards trust it with --verifier-key (\\S+)");

    @TempDir
    Path dir;

    private static ReportInput input() {
        return new ReportInput(
                FLEET,
                Instant.now().truncatedTo(ChronoUnit.MILLIS),
                1,
                Optional.empty(),
                "boot",
                Duration.ofSeconds(60),
                List.of(new MeasurementClaim("uptime", 60, "s", "test")),
                "1.0",
                new byte[32]);
    }

    private static ProspectorProcess awaitConnected(ProspectorProcess v) {
        v.awaitLogged("connected to", WAIT);
        return v;
    }

    private static MqttLink publisher(String url) {
        MqttLink link = new MqttLink(
                MqttSettings.of(BrokerUrl.parse(url), "publisher-" + System.nanoTime())
                        .withSessionExpiry(Duration.ZERO),
                Optional.empty(),
                (t, p) -> {});
        link.connect();
        return link;
    }

    @Test
    void aVerifierStartedBeforeItsBrokerWaitsSaysWhyOnceAndServesOnceTheBrokerIsUp() throws Exception {
        Path logs = dir.resolve("logs");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            broker.stop(); // as at boot, when the verifier's unit comes up before the broker's
            try (ProspectorProcess v = ProspectorProcess.start(
                    logs, "early", "verifier", "--debug", "--broker", broker.url(), "--fleet", FLEET)) {
                await("a failed attempt repeated")
                        .atMost(WAIT)
                        .until(() -> !v.isAlive()
                                || v.stderr()
                                        .lines()
                                        .anyMatch(l -> l.contains(" DEBUG ") && l.contains("refused the connection")));
                assertTrue(v.isAlive(), () -> "the verifier gave up instead of waiting:\n" + v.stderr());
                broker.restart();
                awaitConnected(v);
                List<String> warnings = v.stderr()
                        .lines()
                        .filter(l -> l.contains(" WARN ") && l.contains("refused the connection"))
                        .toList();
                assertEquals(1, warnings.size(), () -> "one warning per distinct failure:\n" + v.stderr());
                assertTrue(
                        v.stderr()
                                .lines()
                                .anyMatch(l -> l.contains(" WARN ")
                                        && l.contains("made for this process only")
                                        && l.contains("cannot trust it across restarts")),
                        "without a state dir the receipt key is said to be ephemeral");
                Matcher key = Pattern.compile("receipts are signed by key (p[a-z2-7]{24}), made for this process only")
                        .matcher(v.stderr());
                assertTrue(key.find(), v::stderr);

                // It serves: a report gets a receipt.
                ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                try (ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET);
                        MqttLink publisher = publisher(broker.url())) {
                    publisher
                            .publish(
                                    Topics.report(
                                            FLEET, device.keys().deviceId().value()),
                                    device.sign(input()).bytes(),
                                    1,
                                    false)
                            .get();
                    await("a receipt").atMost(WAIT).until(() -> receipts.count("accepted") == 1);
                }
                System.out.println("broker down at start: the verifier retried ("
                        + warnings.get(0).replaceAll(".*WARN ", "")
                        + "), connected when the broker came up, and accepted a report");
            }
        }
    }

    @Test
    void aSecondVerifierOnTheSameStateDirIsRefusedAtOnceNamingTheFirstOnesPid() throws Exception {
        Path state = dir.resolve("state");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ProspectorProcess first = awaitConnected(ProspectorProcess.start(
                        dir.resolve("logs"),
                        "first",
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        FLEET,
                        "--state-dir",
                        state.toString()))) {
            assertEquals(
                    Long.toString(first.pid()),
                    Files.readString(state.resolve(StateDirLock.FILE)).trim());
            CliTest.Run second = assertTimeoutPreemptively(
                    WAIT,
                    () -> CliTest.prospector(
                            "verifier", "--broker", broker.url(), "--fleet", FLEET, "--state-dir", state.toString()));
            second.assertOneLineError("in use by process " + first.pid());
            assertTrue(second.err().contains(state.toString()), second.err());
            assertEquals(ExitCodes.UNAVAILABLE, second.exit());
            assertTrue(first.isAlive(), "the first verifier goes on");
            System.out.println(
                    "second verifier on " + state + ": refused: " + second.err().trim());
        }
    }

    @Test
    void theReceiptKeyAndClientIdAreMadeOnceKeptInTheStateDirAndSaidAtStart() throws Exception {
        Path state = dir.resolve("state");
        Path logs = dir.resolve("logs");
        Path mosquittoDir = dir.resolve("mosquitto");
        try (Mosquitto broker = Mosquitto.start(mosquittoDir)) {
            String[] keyIds = new String[2];
            for (int run = 0; run < 2; run++) {
                try (ProspectorProcess v = awaitConnected(ProspectorProcess.start(
                        logs,
                        "run-" + run,
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        FLEET,
                        "--state-dir",
                        state.toString()))) {
                    Matcher m = KEY_LINE.matcher(v.stderr());
                    assertTrue(m.find(), v::stderr);
                    keyIds[run] = m.group(1);
                    Path pub = Path.of(m.group(2));
                    assertEquals(
                            state.resolve("receipt-key")
                                    .resolve(DeviceKeys.PUBLIC_KEY_FILE)
                                    .toAbsolutePath(),
                            pub);
                    assertEquals(
                            keyIds[run],
                            DeviceKeys.load(state.resolve("receipt-key"))
                                    .deviceId()
                                    .value());
                    // Receipts verify with that public key.
                    ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                    try (ReceiptWatcher receipts =
                                    new ReceiptWatcher(broker.url(), FLEET, DeviceKeys.readPublicKey(pub));
                            MqttLink publisher = publisher(broker.url())) {
                        publisher
                                .publish(
                                        Topics.report(
                                                FLEET, device.keys().deviceId().value()),
                                        device.sign(input()).bytes(),
                                        1,
                                        false)
                                .get();
                        await("a signed receipt").atMost(WAIT).until(() -> receipts.count("accepted") == 1);
                        assertEquals(0, receipts.forged());
                    }
                    v.stop();
                }
            }
            assertEquals(keyIds[0], keyIds[1], "the same receipt key after a restart");
            assertEquals(
                    "rw-------",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(
                            state.resolve("receipt-key").resolve(DeviceKeys.PRIVATE_KEY_FILE))));
            String clientId =
                    Files.readString(state.resolve(VerifierClientId.FILE)).trim();
            assertTrue(clientId.matches("prospector-verifier-" + FLEET + "-[a-z2-7]{16}"), clientId);
            assertEquals(
                    "rw-------",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(VerifierClientId.FILE))));
            String brokerLog = Files.readString(mosquittoDir.resolve("mosquitto.log"));
            assertEquals(
                    2,
                    brokerLog.split(Pattern.quote(" as " + clientId + " "), -1).length - 1,
                    () -> "both runs connect as " + clientId + ":\n" + brokerLog);
            System.out.println(
                    "state dir: receipt key " + keyIds[0] + " and client id " + clientId + " kept across a restart");
        }
    }

    @Test
    void aDamagedAcceptedLogStopsTheVerifierUntilRepairedAndReplaysStayRefusedAfterwards() throws Exception {
        Path state = dir.resolve("state");
        Path logs = dir.resolve("logs");
        Path chain = Files.createDirectories(dir.resolve("device"));
        ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.open(chain));
        String id = device.keys().deviceId().value();
        // Every packet in the broker's log, for explain().
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"), "log_type all");
                MqttLink publisher = publisher(broker.url())) {
            List<byte[]> reports = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                reports.add(device.sign(input()).bytes());
            }
            Path fork = Files.createDirectories(dir.resolve("fork"));
            Files.copy(chain.resolve(ChainState.FILE), fork.resolve(ChainState.FILE));
            reports.add(device.sign(input()).bytes());
            byte[] replay = new ReportSigner(device.keys(), ChainState.open(fork))
                    .sign(input())
                    .bytes(); // another seq 5

            List<ProspectorProcess> runs = new ArrayList<>();
            try (ProspectorProcess v = awaitConnected(ProspectorProcess.start(
                    logs,
                    "before",
                    "verifier",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    FLEET,
                    "--state-dir",
                    state.toString(),
                    "--json"))) {
                for (byte[] r : reports) {
                    publisher.publish(Topics.report(FLEET, id), r, 1, false).get();
                }
                await("5 accepted")
                        .atMost(WAIT)
                        .until(() -> VerifierOutput.outcomes(List.of(v)).size() >= 5);
                v.stop();
                runs.add(v);
            }
            flipAByteOfTheThirdRecord(state.resolve("accepted.log"));

            ProspectorProcess.Result refused = ProspectorProcess.run(
                    logs,
                    "refused",
                    "verifier",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    FLEET,
                    "--state-dir",
                    state.toString());
            assertNotEquals(0, refused.exitCode());
            List<String> errors = refused.stderr()
                    .lines()
                    .filter(l -> l.startsWith("prospector: "))
                    .toList();
            assertEquals(1, errors.size(), refused::stderr);
            assertTrue(
                    errors.get(0).contains("accepted.log.corrupt-")
                            && errors.get(0).contains("prospector verifier repair --state-dir"),
                    errors.get(0));
            // Meanwhile the replay is published: the broker keeps it in the verifier's session.
            publisher.publish(Topics.report(FLEET, id), replay, 1, false).get();
            ProspectorProcess.Result again = ProspectorProcess.run(
                    logs,
                    "refused-again",
                    "verifier",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    FLEET,
                    "--state-dir",
                    state.toString());
            assertNotEquals(0, again.exitCode(), "still refused: the damaged copy is not repaired");

            ProspectorProcess.Result repair =
                    ProspectorProcess.run(logs, "repair", "verifier", "repair", "--state-dir", state.toString());
            assertEquals(0, repair.exitCode(), repair::stderr);
            assertTrue(repair.stdout().contains("kept 4 record(s)"), repair.stdout());
            assertTrue(repair.stdout().contains("dropped"), repair.stdout());

            try (ProspectorProcess v = awaitConnected(ProspectorProcess.start(
                    logs,
                    "after",
                    "verifier",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    FLEET,
                    "--state-dir",
                    state.toString(),
                    "--json"))) {
                runs.add(v);
                try {
                    await("the replay queued while it was down")
                            .atMost(WAIT)
                            .until(() -> VerifierOutput.outcomes(List.of(v)).stream()
                                    .anyMatch(o -> o.get("outcome").AsString().equals("rejected")));
                } catch (org.awaitility.core.ConditionTimeoutException e) {
                    explain(state, dir.resolve("mosquitto"), v);
                    throw e;
                }
                publisher
                        .publish(Topics.report(FLEET, id), reports.get(4), 1, false)
                        .get();
                publisher
                        .publish(Topics.report(FLEET, id), reports.get(0), 1, false)
                        .get();
                // A report whose acknowledgement the first run had not sent yet when it stopped comes
                // again too: it is a duplicate like the two published now.
                await("the replay and two more outcomes")
                        .atMost(WAIT)
                        .until(() -> VerifierOutput.outcomes(List.of(v)).size() >= 3
                                && VerifierOutput.outcomes(List.of(v)).stream()
                                                .filter(o -> o.get("outcome")
                                                                .AsString()
                                                                .equals("accepted")
                                                        && o.get("seq").AsInt64Value() == 1)
                                                .count()
                                        >= 1);
                List<CBORObject> after = VerifierOutput.outcomes(List.of(v));
                List<CBORObject> rejected = after.stream()
                        .filter(o -> o.get("outcome").AsString().equals("rejected"))
                        .toList();
                assertEquals(1, rejected.size(), after.toString());
                assertEquals("replay", rejected.get(0).get("reason").AsString(), after.toString());
                for (CBORObject o : after) {
                    if (o.get("outcome").AsString().equals("accepted")) {
                        assertTrue(o.get("duplicate").AsBoolean(), () -> "a salvaged acceptance counts once: " + after);
                    }
                }
            }
            System.out.println(
                    "damaged accepted.log: one flipped byte in record 3 of 5: start refused twice (" + errors.get(0)
                            + "); repair printed:\n" + repair.stdout().strip()
                            + "\nafter repair: the replay of seq 5 refused, seq 1 and 5"
                            + " again duplicates; nothing accepted twice");
            assertFalse(
                    VerifierOutput.outcomes(runs).stream()
                                    .filter(o -> o.get("outcome").AsString().equals("accepted")
                                            && !o.get("duplicate").AsBoolean())
                                    .count()
                            > 5,
                    "no report accepted anew twice");
        }
    }

    /**
     * After a wait that timed out: what the verifier printed and logged, and what the broker logged
     * of the verifier's client id (connects, whether its session was resumed, what it sent to it).
     */
    private static void explain(Path state, Path brokerDir, ProspectorProcess v) throws Exception {
        System.out.println("verifier stdout:\n" + v.stdout());
        System.out.println("verifier stderr:\n" + v.stderr());
        String clientId = Files.readString(state.resolve(VerifierClientId.FILE)).trim();
        Path log = brokerDir.resolve("mosquitto.log");
        if (Files.exists(log)) {
            Files.readAllLines(log).stream()
                    .filter(l -> l.contains(clientId) || l.contains("publisher-"))
                    .forEach(l -> System.out.println("broker: " + l));
        }
    }

    /** Flips one byte inside the body of the third record of an accepted log. */
    private static void flipAByteOfTheThirdRecord(Path file) throws Exception {
        byte[] all = Files.readAllBytes(file);
        int pos = 8;
        for (int i = 0; i < 2; i++) {
            pos += 8 + ByteBuffer.wrap(all, pos, 4).getInt();
        }
        all[pos + 8 + 30] ^= 0x01;
        Files.write(file, all);
    }
}
