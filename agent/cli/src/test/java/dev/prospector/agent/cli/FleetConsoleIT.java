package dev.prospector.agent.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.fleet.CommandService;
import dev.prospector.agent.fleet.FleetSettings;
import dev.prospector.agent.fleet.Role;
import dev.prospector.agent.fleet.TrustedOperators;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Cbor;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.MalformedReportException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prospector fleet} end to end, against a real Mosquitto and two real boards (emulated
 * hardware) obeying an admin and a viewer key: keygen, list, status, send to a device, a group and
 * all, watch; the exit codes; and a forged birth whose "device" answers with results signed by the
 * forger, which the console does not believe.
 */
class FleetConsoleIT {
    private static final String FLEET = "ops";

    @TempDir
    Path dir;

    private final List<String> restarts = new CopyOnWriteArrayList<>();

    private record Run(int exit, String out, String err) {}

    private static Run prospector(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        var r = new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.println("$ prospector " + String.join(" ", args) + "\n" + r.out() + r.err() + "(exit " + exit + ")");
        return r;
    }

    private AgentNode board(
            BrokerUrl url, String name, List<String> groups, Path admin, Path viewer, List<CommandService> services) {
        var settings = AgentWiring.RunSettings.emulated(url, FLEET, dir.resolve(name), Duration.ofSeconds(1));
        AgentNode node = AgentWiring.agent(settings, Clock.systemUTC());
        services.add(AgentWiring.commands(
                node,
                new FleetSettings(
                        List.of(
                                new TrustedOperators.Spec(admin, Role.ADMIN),
                                new TrustedOperators.Spec(viewer, Role.VIEWER)),
                        groups,
                        Duration.ofMinutes(2)),
                dir.resolve(name),
                Clock.systemUTC(),
                restarts::add));
        node.start();
        return node;
    }

    @Test
    void anOperatorFindsInspectsAndCommandsBoards() throws Exception {
        Path adminDir = dir.resolve("admin");
        Path viewerDir = dir.resolve("viewer");
        assertEquals(
                0, prospector("fleet", "keygen", "--dir", adminDir.toString()).exit());
        assertEquals(
                0, prospector("fleet", "keygen", "--dir", viewerDir.toString()).exit());
        assertEquals(
                "rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(adminDir.resolve("operator.key"))));
        Run again = prospector("fleet", "keygen", "--dir", adminDir.toString());
        assertEquals(ExitCodes.BAD_INPUT, again.exit(), "an existing key is never overwritten");

        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            List<CommandService> services = new ArrayList<>();
            AgentNode a = board(
                    url,
                    "a",
                    List.of("lab"),
                    adminDir.resolve("operator.pub"),
                    viewerDir.resolve("operator.pub"),
                    services);
            AgentNode b = board(
                    url, "b", List.of(), adminDir.resolve("operator.pub"), viewerDir.resolve("operator.pub"), services);
            await("boards report")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> a.stats().delivered() > 0 && b.stats().delivered() > 0);
            String[] conn = {"--broker", broker.url(), "--fleet", FLEET};
            String admin = adminDir.toString();
            String viewer = viewerDir.toString();

            Run list = prospector(cat(new String[] {"fleet", "list"}, conn));
            assertEquals(0, list.exit());
            assertTrue(list.out().contains(a.device()) && list.out().contains(b.device()), list.out());
            assertTrue(list.out().contains("2 device(s), 2 online"), list.out());
            CBORObject listJson =
                    CBORObject.FromJSONString(prospector(cat(new String[] {"fleet", "list", "--json"}, conn))
                            .out());
            assertEquals(2, listJson.get("count").AsInt32());

            Run ping =
                    prospector(cat(new String[] {"fleet", "send", "--signing-key", admin, a.device(), "ping"}, conn));
            assertEquals(0, ping.exit(), ping.err());
            assertTrue(ping.out().contains("1 ok"), ping.out());

            CBORObject group = CBORObject.FromJSONString(prospector(cat(
                            new String[] {
                                "fleet",
                                "send",
                                "--signing-key",
                                admin,
                                "--group",
                                "lab",
                                "identify",
                                "seconds=5",
                                "--json"
                            },
                            conn))
                    .out());
            assertEquals(1, group.get("expected").AsInt32(), "only board a is in group lab");
            assertEquals(a.device(), group.get("results").get(0).get("device").AsString());
            assertEquals(
                    "no-led",
                    group.get("results").get(0).get("result").get("identify").AsString());

            Run all = prospector(
                    cat(new String[] {"fleet", "send", "--signing-key", admin, "--all", "status", "--json"}, conn));
            assertEquals(0, all.exit());
            CBORObject allJson = CBORObject.FromJSONString(all.out());
            assertEquals(2, allJson.get("counts").get("ok").AsInt32());

            Run refused =
                    prospector(cat(new String[] {"fleet", "send", "--signing-key", viewer, "--all", "restart"}, conn));
            assertEquals(ExitCodes.CHECK_FAILED, refused.exit(), "a viewer's restart is refused by both boards");
            assertTrue(refused.out().contains("2 refused"), refused.out());
            assertTrue(restarts.isEmpty());

            Run restart = prospector(
                    cat(new String[] {"fleet", "send", "--signing-key", admin, b.device(), "restart"}, conn));
            assertEquals(0, restart.exit());
            await("restart asked").atMost(Duration.ofSeconds(10)).until(() -> restarts.size() == 1);

            Run status = prospector(
                    cat(new String[] {"fleet", "status", "--signing-key", admin, a.device(), "--json"}, conn));
            assertEquals(0, status.exit());
            CBORObject st = CBORObject.FromJSONString(status.out());
            assertEquals("ok", st.get("answer").get("status").AsString());
            assertTrue(st.get("answer").get("result").get("made").AsInt64Value() > 0);

            Run unknown = prospector(cat(
                    new String[] {
                        "fleet", "status", DeviceKeys.generate().deviceId().value()
                    },
                    conn));
            assertEquals(ExitCodes.BAD_INPUT, unknown.exit());
            assertEquals(
                    ExitCodes.BAD_INPUT,
                    prospector(cat(new String[] {"fleet", "send", "--signing-key", admin, "nodevice", "ping"}, conn))
                            .exit());

            Run watch = prospector(cat(new String[] {"fleet", "watch", "--count", "2", "--every", "100ms"}, conn));
            assertEquals(0, watch.exit());
            assertTrue(watch.out().contains(a.device()), watch.out());

            // A forged birth: a "device" whose id is the hash of one key, announcing another (the
            // forger's), answers every command with results the forger signs.
            DeviceKeys forger = DeviceKeys.generate();
            String fakeDevice = DeviceKeys.generate().deviceId().value();
            var forged = new java.util.concurrent.atomic.AtomicInteger();
            MqttLink attacker = new MqttLink(
                    MqttSettings.of(url, "forger").withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    (topic, payload) -> {
                        try {
                            var cmd = FleetCommand.decode(payload).command();
                            byte[] fake = dev.prospector.attest.CoseSign1.sign(
                                    fakeDevice.getBytes(StandardCharsets.US_ASCII),
                                    new CommandResult(
                                                    cmd.id(),
                                                    new dev.prospector.attest.DeviceId(fakeDevice),
                                                    "ok",
                                                    "",
                                                    Cbor.map().build(),
                                                    dev.prospector.attest.Sha256.of(payload),
                                                    Instant.now())
                                            .encodePayload(),
                                    forger);
                            forged.incrementAndGet();
                            attackerLink[0].publish(Topics.commandResult(FLEET, fakeDevice), fake, 1, false);
                        } catch (MalformedReportException e) {
                            throw new AssertionError(e);
                        }
                    });
            attackerLink[0] = attacker;
            attacker.subscribe(Topics.command(FLEET, fakeDevice), 1);
            attacker.connect();
            attacker.publish(
                            Topics.state(FLEET, fakeDevice),
                            ("{\"online\":true,\"device\":\"" + fakeDevice + "\",\"key_hex\":\""
                                            + HexFormat.of().formatHex(forger.publicKey()) + "\",\"time\":\""
                                            + Instant.now() + "\"}")
                                    .getBytes(StandardCharsets.UTF_8),
                            1,
                            true)
                    .get();
            Run fooled = prospector(cat(
                    new String[] {"fleet", "send", "--signing-key", admin, fakeDevice, "ping", "--timeout", "3s"},
                    conn));
            System.out.println("forged results published: " + forged.get());
            assertTrue(forged.get() >= 1, "the forger answered");
            assertEquals(ExitCodes.CHECK_FAILED, fooled.exit(), "the forged answer is not believed");
            assertTrue(fooled.out().contains("no answer"), fooled.out());
            CBORObject fakeView = CBORObject.FromJSONString(
                    prospector(cat(new String[] {"fleet", "status", fakeDevice, "--json"}, conn))
                            .out());
            assertTrue(fakeView.get("key_problem").AsString().contains("does not belong"), fakeView.ToJSONString());
            assertFalse(fakeView.get("key") != null && !fakeView.get("key").isNull());
            attacker.close();

            services.forEach(CommandService::close);
            a.close();
            b.close();
            Run offline = prospector(cat(new String[] {"fleet", "list", "--json"}, conn));
            CBORObject off = CBORObject.FromJSONString(offline.out());
            assertEquals(0, off.get("online").AsInt32() - 1, "only the forged device still claims to be online");
        }
    }

    private final MqttLink[] attackerLink = new MqttLink[1];

    private static String[] cat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
