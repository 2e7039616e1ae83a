package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: contract outputs and one clear line for every bad input. */
class CliTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
        /** One line saying what is wrong, no stack trace. */
        void assertOneLineError(String mustMention) {
            assertNotEquals(0, exit, "exit code");
            List<String> lines = err.lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.size(), () -> "expected one line on stderr, got:\n" + err);
            assertTrue(lines.get(0).startsWith("prospector: "), lines.get(0));
            assertTrue(lines.get(0).contains(mustMention), () -> "'" + mustMention + "' not in: " + lines.get(0));
            assertFalse(err.contains("\tat "), "no stack trace without --debug");
        }
    }

    static Run prospector(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String[] cat(String[] first, String... more) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }

    @Test
    void keygenRotateKeepsTheDeviceAndItsChainAndTheVerifierFollows() throws Exception {
        Path keys = dir.resolve("keys");
        Run keygen = prospector("keygen", "--dir", keys.toString());
        assertEquals(0, keygen.exit(), keygen.err());
        String deviceId = keygen.out().lines().reduce((a, b) -> b).orElseThrow();
        Path first = dir.resolve("1.cbor");
        Path second = dir.resolve("2.cbor");
        assertEquals(
                0,
                prospector(
                                "report",
                                "--once",
                                "--key-dir",
                                keys.toString(),
                                "--out",
                                first.toString(),
                                "--board",
                                "emulated")
                        .exit());
        byte[] oldPublic = Files.readAllBytes(keys.resolve("device.pub"));

        Run rotate = prospector("keygen", "--dir", keys.toString(), "--rotate");
        assertEquals(0, rotate.exit(), rotate.err());
        assertEquals(deviceId, rotate.out().lines().reduce((a, b) -> b).orElseThrow(), "same device id");
        assertFalse(Arrays.equals(oldPublic, Files.readAllBytes(keys.resolve("device.pub"))), "a new public key");
        assertEquals(
                "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys.resolve("device.key"))));
        assertEquals(
                0,
                prospector(
                                "report",
                                "--once",
                                "--key-dir",
                                keys.toString(),
                                "--out",
                                second.toString(),
                                "--board",
                                "emulated")
                        .exit());

        // Reports made on the emulated board say so: a verifier for tests accepts them.
        var verifier = new dev.prospector.attest.Appraiser(dev.prospector.attest.AppraiserConfig.defaults()
                .withFleet("default")
                .withAllowEmulated(true));
        var a = verifier.appraise(Files.readAllBytes(first));
        var b = verifier.appraise(Files.readAllBytes(second));
        assertTrue(a instanceof dev.prospector.attest.Appraisal.Accepted, a.toString());
        assertTrue(
                b instanceof dev.prospector.attest.Appraisal.Accepted acc && acc.seq() == 2 && acc.gap() == 0,
                b.toString());
        // The verifier now holds the new key: a report signed by the old one would be refused.
        assertTrue(
                Arrays.equals(
                        dev.prospector.attest.DeviceKeys.load(keys).publicKey(),
                        verifier.pinnedKey(dev.prospector.attest.DeviceId.parse(deviceId))
                                .orElseThrow()),
                "the verifier follows the rotation");
    }

    @Test
    void keygenForceAfterARotationMakesANewIdentityThatLoads() {
        Path keys = dir.resolve("keys");
        String first = prospector("keygen", "--dir", keys.toString())
                .out()
                .lines()
                .reduce((a, b) -> b)
                .orElseThrow();
        assertEquals(
                0, prospector("keygen", "--dir", keys.toString(), "--rotate").exit());
        assertTrue(Files.exists(keys.resolve("device.rot")));
        Run forced = prospector("keygen", "--dir", keys.toString(), "--force");
        assertEquals(0, forced.exit(), forced.err());
        String second = forced.out().lines().reduce((a, b) -> b).orElseThrow();
        assertNotEquals(first, second, "a new identity");
        assertFalse(Files.exists(keys.resolve("device.rot")), "the old identity's rotations are gone");
        Run made = prospector(
                "report",
                "--once",
                "--key-dir",
                keys.toString(),
                "--out",
                dir.resolve("r.cbor").toString(),
                "--board",
                "emulated");
        assertEquals(0, made.exit(), made.err());
    }

    @Test
    void keygenRotateWithoutAKeyOrWithForceIsAUserError() {
        prospector("keygen", "--dir", dir.resolve("none").toString(), "--rotate")
                .assertOneLineError("prospector keygen --dir");
        Path keys = dir.resolve("keys");
        assertEquals(0, prospector("keygen", "--dir", keys.toString()).exit());
        prospector("keygen", "--dir", keys.toString(), "--rotate", "--force").assertOneLineError("--rotate");
    }

    @Test
    void aVerifierRegistryThatCannotBeReadIsOneLine() throws Exception {
        prospector(
                        "verifier",
                        "--broker",
                        "tcp://127.0.0.1:1",
                        "--fleet",
                        "f",
                        "--registry",
                        dir.resolve("nope.txt").toString())
                .assertOneLineError("nope.txt");
        Path bad = dir.resolve("bad.txt");
        Files.writeString(bad, "not-a-device-id\n");
        prospector("verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--registry", bad.toString())
                .assertOneLineError("line 1");
    }

    @Test
    void keygenReportInspectGivesAValidSignature() {
        Path keys = dir.resolve("keys");
        Run keygen = prospector("keygen", "--dir", keys.toString());
        assertEquals(0, keygen.exit(), keygen.err());
        List<String> lines = keygen.out().lines().toList();
        String deviceId = lines.get(lines.size() - 1);
        assertTrue(deviceId.matches("[a-z0-9]{10,26}"), deviceId);

        Path report = dir.resolve("r.cbor");
        Run made = prospector(
                "report", "--once", "--key-dir", keys.toString(), "--out", report.toString(), "--board", "emulated");
        assertEquals(0, made.exit(), made.err());

        Run inspect = prospector("inspect", report.toString());
        assertEquals(0, inspect.exit(), inspect.err());
        assertTrue(inspect.out().contains(deviceId));
        assertTrue(inspect.out().strip().endsWith("signature: valid"), inspect.out());
    }

    @Test
    void reportIsATaggedCoseSign1() throws Exception {
        Path keys = dir.resolve("keys");
        assertEquals(0, prospector("keygen", "--dir", keys.toString()).exit());
        Path report = dir.resolve("r.cbor");
        assertEquals(
                0,
                prospector("report", "--once", "--key-dir", keys.toString(), "--out", report.toString())
                        .exit());
        byte[] bytes = Files.readAllBytes(report);
        assertEquals((byte) 0xd2, bytes[0], "CBOR tag 18 (COSE_Sign1)");
        assertEquals((byte) 0x84, bytes[1], "an array of four");
    }

    @Test
    void inspectJsonSaysWhetherTheSignatureIsValid() {
        Path keys = dir.resolve("keys");
        prospector("keygen", "--dir", keys.toString());
        Path report = dir.resolve("r.cbor");
        prospector("report", "--once", "--key-dir", keys.toString(), "--out", report.toString());
        Run inspect = prospector("inspect", "--json", report.toString());
        assertEquals(0, inspect.exit());
        var json = com.upokecenter.cbor.CBORObject.FromJSONString(inspect.out().strip());
        assertEquals("valid", json.get("signature").AsString());
        assertEquals(1, json.get("seq").AsInt32Value());
    }

    @Test
    void inspectOfAReportWithAFlippedSignatureByteSaysInvalidAndFails() throws Exception {
        Path keys = dir.resolve("keys");
        prospector("keygen", "--dir", keys.toString());
        Path report = dir.resolve("r.cbor");
        prospector("report", "--once", "--key-dir", keys.toString(), "--out", report.toString());
        byte[] bytes = Files.readAllBytes(report);
        bytes[bytes.length - 1] ^= 1; // last byte of the signature
        Files.write(report, bytes);
        Run inspect = prospector("inspect", report.toString());
        assertEquals(ExitCodes.CHECK_FAILED, inspect.exit());
        assertTrue(inspect.out().strip().endsWith("signature: invalid"), inspect.out());
    }

    @Test
    void inspectOfATruncatedReportIsOneClearLine() throws Exception {
        Path keys = dir.resolve("keys");
        prospector("keygen", "--dir", keys.toString());
        Path report = dir.resolve("r.cbor");
        prospector("report", "--once", "--key-dir", keys.toString(), "--out", report.toString());
        byte[] bytes = Files.readAllBytes(report);
        Files.write(report, Arrays.copyOf(bytes, bytes.length / 2));
        prospector("inspect", report.toString()).assertOneLineError("is not a valid Prospector report");
    }

    @Test
    void inspectOfRandomBytesIsOneClearLine() throws Exception {
        Path junk = dir.resolve("junk.bin");
        byte[] bytes = new byte[4096];
        new Random(7).nextBytes(bytes);
        Files.write(junk, bytes);
        prospector("inspect", junk.toString()).assertOneLineError("is not a valid Prospector report");
    }

    @Test
    void inspectOfAMissingFileNamesIt() {
        prospector("inspect", dir.resolve("nope.cbor").toString()).assertOneLineError("nope.cbor does not exist");
    }

    @Test
    void aKeyOthersCanReadIsRefusedWithTheChmodFix() throws Exception {
        Path keys = dir.resolve("keys");
        prospector("keygen", "--dir", keys.toString());
        Files.setPosixFilePermissions(keys.resolve("device.key"), PosixFilePermissions.fromString("rw-r--r--"));
        Run run = prospector(
                "report",
                "--once",
                "--key-dir",
                keys.toString(),
                "--out",
                dir.resolve("r").toString());
        run.assertOneLineError("chmod 600");
        assertFalse(Files.exists(dir.resolve("r")), "no report from a refused key");
    }

    @Test
    void keygenRefusesToReplaceAKeyWithoutForce() {
        Path keys = dir.resolve("keys");
        prospector("keygen", "--dir", keys.toString());
        prospector("keygen", "--dir", keys.toString()).assertOneLineError("--force");
    }

    @Test
    void aMalformedBrokerUrlIsOneClearLine() {
        prospector("verifier", "--broker", "http://127.0.0.1:1883", "--fleet", "f")
                .assertOneLineError("unsupported scheme 'http'");
        prospector("run", "--broker", "tcp//nohost", "--fleet", "f", "--data-dir", dir.toString())
                .assertOneLineError("tcp://HOST:PORT");
    }

    @Test
    void debugShowsTheStackTrace() throws Exception {
        Path junk = dir.resolve("junk.bin");
        Files.write(junk, new byte[] {1, 2, 3});
        Run run = prospector("inspect", junk.toString(), "--debug");
        assertNotEquals(0, run.exit());
        assertTrue(run.err().contains("\tat "), run.err());
    }

    @Test
    void anUnknownConfigSettingIsNamed() throws Exception {
        Path config = dir.resolve("prospector.conf");
        Files.writeString(config, "broker = tcp://127.0.0.1:1883\nflet = typo\n");
        prospector("run", "--config", config.toString()).assertOneLineError("[flet]");
    }

    @Test
    void runBuildsOnlyItsOwnCommandYetKnowsEveryCommandsSettings() throws Exception {
        assertEquals(
                List.of("run"),
                List.copyOf(ProspectorCommand.commandLine(new ProspectorCommand(), true, new String[] {"run"})
                        .getSubcommands()
                        .keySet()),
                "prospector run builds no other command's model (resident memory)");
        assertTrue(ProspectorCommand.commandLine(new ProspectorCommand(), true, new String[] {"status"})
                        .getSubcommands()
                        .size()
                > 8);
        // A shared config file with another command's setting: run still starts (here it stops at
        // the operator key, which it checks after the settings), and a misspelt one is still named.
        Path config = dir.resolve("prospector.conf");
        Path pub = dir.resolve("alice.pub");
        Files.writeString(
                config,
                "broker = tcp://127.0.0.1:1\nfleet = f\nkeygen.dir = " + dir.resolve("keys") + "\noperator-key = " + pub
                        + ":admin\n");
        prospector("run", "--config", config.toString())
                .assertOneLineError("--operator-key: no operator public key at " + pub);
        Files.writeString(config, "broker = tcp://127.0.0.1:1\nfleet = f\nkeygen.dri = x\n");
        prospector("run", "--config", config.toString()).assertOneLineError("[keygen.dri]");
    }

    @Test
    void fleetBuildsOnlyItsOwnCommandYetKnowsEveryCommandsSettings() throws Exception {
        assertEquals(
                List.of("fleet"),
                List.copyOf(ProspectorCommand.commandLine(new ProspectorCommand(), true, new String[] {"fleet", "list"})
                        .getSubcommands()
                        .keySet()),
                "prospector fleet builds no other command's model (the console's start-up)");
        // A config file shared with the board (run's interval, which fleet has no option for): the
        // console takes its broker and gets as far as connecting; a misspelt setting is still named.
        Path config = dir.resolve("prospector.conf");
        Files.writeString(config, "broker = tcp://127.0.0.1:1\nfleet = f\ninterval = 5s\n");
        prospector("fleet", "list", "--config", config.toString())
                .assertOneLineError("broker tcp://127.0.0.1:1 refused the connection");
        Files.writeString(config, "broker = tcp://127.0.0.1:1\nfleet = f\nkeygen.dri = x\n");
        prospector("fleet", "list", "--config", config.toString()).assertOneLineError("[keygen.dri]");
    }

    @Test
    void operatorKeysFromTheConfigFileAreCheckedAtStart() throws Exception {
        Path config = dir.resolve("prospector.conf");
        Path pub = dir.resolve("alice.pub");
        Files.writeString(
                config,
                "broker = tcp://127.0.0.1:1\nfleet = f\ndata-dir = " + dir.resolve("data") + "\noperator-key = " + pub
                        + ":admin, " + dir.resolve("bob.pub") + "\nin-group = lab\n");
        Run run = prospector("run", "--config", config.toString());
        run.assertOneLineError("--operator-key: no operator public key at " + pub);
        assertEquals(ExitCodes.BAD_INPUT, run.exit());
        Files.writeString(config, "broker = tcp://127.0.0.1:1\nfleet = f\nin-group = Not A Group\n");
        prospector("run", "--config", config.toString()).assertOneLineError("group name 'Not A Group' is not valid");
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : List.of("keygen", "report", "inspect", "run", "verifier", "fleet")) {
            Run help = prospector(command, "--help");
            assertEquals(0, help.exit(), command);
            assertTrue(help.out().contains("Usage: prospector " + command), command + ": " + help.out());
        }
        Run version = prospector("--version");
        assertEquals(0, version.exit());
        assertTrue(version.out().startsWith("prospector "));
    }

    @Test
    void aBrokerPortThatIsNotANumberIsNamedAsSuch() {
        Run run =
                prospector("run", "--broker", "tcp://127.0.0.1:notaport", "--fleet", "f", "--data-dir", dir.toString());
        run.assertOneLineError("has a port that is not a number ('notaport')");
        assertEquals(ExitCodes.BAD_INPUT, run.exit());
        assertFalse(run.err().contains("has no host"), run.err());
        prospector("verifier", "--broker", "tcp://127.0.0.1:70000", "--fleet", "f")
                .assertOneLineError("port 70000, outside 1-65535");
        prospector("verifier", "--broker", "tcp://my_broker:1883", "--fleet", "f")
                .assertOneLineError("no valid host name ('my_broker')");
    }

    @Test
    void aConfigPathThatIsADirectoryIsNamedAsOne() throws Exception {
        Path configDir = Files.createDirectories(dir.resolve("etc"));
        Run run = prospector("run", "--config", configDir.toString());
        run.assertOneLineError(
                "config file " + configDir + " is a directory: --config needs a file of key = value lines");
        assertEquals(ExitCodes.BAD_INPUT, run.exit());
        assertFalse(run.err().contains("does not exist"), run.err());
    }

    @Test
    void badPlotAndMeasurementSettingsAreOneLineErrorsWithExitTwo() {
        String data = dir.toString();
        String[] base = {"run", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--data-dir", data};
        java.util.function.Function<String[], Run> run = extra -> {
            String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
            System.arraycopy(extra, 0, args, base.length, extra.length);
            return prospector(args);
        };
        for (var c : List.of(
                List.of("--plot-size", "1K", "--plot-size 1024 is too small: use 0 (no plot) or at least 64KiB"),
                List.of("--plot-rate=-1", "--plot-rate -1.0 is not a rate"),
                List.of("--measure-bytes", "100M", "--measure-bytes 104857600 is out of range: use 1KiB to 64MiB"),
                List.of("--measure-endpoint", "ftp://host/", "--measure-endpoint ftp://host/ is not an http://"),
                List.of("--measure-endpoint", "http://host:1/?a=b", "must not have a query"))) {
            String[] extra = c.size() == 3 ? new String[] {c.get(0), c.get(1)} : new String[] {c.get(0)};
            Run r = run.apply(extra);
            r.assertOneLineError(c.get(c.size() - 1));
            assertEquals(ExitCodes.BAD_INPUT, r.exit(), String.join(" ", c));
        }
        // Values that do not convert are refused by the parser, as for every other option.
        for (var c : List.of(
                List.of("--plot-size", "lots", "Invalid value for option '--plot-size': 'lots' is not a size"),
                List.of("--plot-rate", "fast", "Invalid value for option '--plot-rate'"),
                List.of("--plot-reserve", "-1G", "Invalid value for option '--plot-reserve'"))) {
            Run r = run.apply(new String[] {c.get(0), c.get(1)});
            assertEquals(ExitCodes.BAD_INPUT, r.exit(), String.join(" ", c));
            assertTrue(r.err().startsWith("prospector: " + c.get(2)), r.err());
        }
    }

    @Test
    void durationsInMessagesAreWrittenAsUsersWriteThem() {
        String data = dir.toString();
        prospector("run", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--data-dir", data, "--interval", "0s")
                .assertOneLineError("--interval 0s is too short: use at least 100ms");
        prospector(
                        "run",
                        "--broker",
                        "tcp://127.0.0.1:1",
                        "--fleet",
                        "f",
                        "--data-dir",
                        data,
                        "--receipt-timeout",
                        "PT0.05S")
                .assertOneLineError("--receipt-timeout 50ms is too short: use at least 100ms");
        Run skew = prospector("verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--clock-skew", "0s");
        skew.assertOneLineError("--clock-skew 0s is out of range: use more than 0s and at most 1d");
        assertEquals(ExitCodes.BAD_INPUT, skew.exit(), "a setting out of range is bad input, not an internal error");
        prospector("verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--clock-skew", "2d")
                .assertOneLineError("--clock-skew 2d is out of range");
    }

    @Test
    void aKeyFileThatIsNotPemIsNamedWithTheKeygenFixNotChmod() throws Exception {
        Path keys = Files.createDirectories(dir.resolve("keys"));
        Path key = keys.resolve("device.key");
        byte[] random = new byte[300];
        new Random(11).nextBytes(random);
        for (byte[] garbage : List.of(random, "garbage\n".getBytes(StandardCharsets.US_ASCII))) {
            Files.write(key, garbage);
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            for (Run run : List.of(
                    prospector(
                            "report",
                            "--once",
                            "--key-dir",
                            keys.toString(),
                            "--out",
                            dir.resolve("r.cbor").toString()),
                    prospector("run", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--data-dir", keys.toString()),
                    prospector("keygen", "--dir", keys.toString(), "--rotate"))) {
                run.assertOneLineError("device key " + key + " is not a PEM private key");
                assertTrue(run.err().contains("prospector keygen --dir " + keys), run.err());
                assertFalse(run.err().contains("chmod"), run.err());
                assertEquals(ExitCodes.BAD_INPUT, run.exit());
            }
            prospector("keygen", "--dir", keys.toString())
                    .assertOneLineError("(not a PEM private key): keep it, or pass --force");
        }
        assertEquals(
                0, prospector("keygen", "--dir", keys.toString(), "--force").exit(), "--force replaces it");
    }

    @Test
    void ledgerValidateOfAFileThatIsNoBlockFileSaysSoOnce() throws Exception {
        Path junk = dir.resolve("junk.plf");
        Files.writeString(junk, "hello\n");
        Run run = prospector("ledger", "validate", junk.toString());
        run.assertOneLineError(junk + " is not a ledger block file");
        assertEquals(ExitCodes.BAD_INPUT, run.exit());
        assertEquals(1, run.err().split("not a ledger block file", -1).length - 1, run.err());
    }

    @Test
    void ledgerGenRefusesToReplaceAFileWithoutForceAsKeygenDoes() throws Exception {
        Path file = dir.resolve("chain.plf");
        Files.writeString(file, "keep me");
        String[] gen = {"ledger", "gen", "--txs", "5", "--accounts", "20", "--out", file.toString()};
        Run refused = prospector(gen);
        refused.assertOneLineError(
                "a file already exists at " + file + " (--out): keep it, or pass --force to replace it");
        assertEquals(ExitCodes.BAD_INPUT, refused.exit());
        assertEquals("keep me", Files.readString(file), "the file is untouched");

        Path genesis = dir.resolve("genesis.bin");
        Files.writeString(genesis, "keep me too");
        prospector(
                        "ledger",
                        "gen",
                        "--txs",
                        "5",
                        "--accounts",
                        "20",
                        "--out",
                        dir.resolve("other.plf").toString(),
                        "--genesis-out",
                        genesis.toString())
                .assertOneLineError("(--genesis-out): keep it, or pass --force");
        assertFalse(Files.exists(dir.resolve("other.plf")), "nothing written when one of the files is refused");

        Run forced = prospector("ledger", "gen", "--txs", "5", "--accounts", "20", "--out", file.toString(), "--force");
        assertEquals(0, forced.exit(), forced.err());
        assertEquals(0, prospector("ledger", "validate", file.toString()).exit(), "a block file replaced it");
    }

    /** `verifier` against a broker nobody runs (tcp://127.0.0.1:1), fleet f, with {@code stateDir}. */
    private static String[] verifierWithStateDir(Path stateDir) {
        return new String[] {
            "verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--state-dir", stateDir.toString()
        };
    }

    /** The MQTT forwarding group was retired: a group of verifiers is a Kafka consumer group. */
    @Test
    void aGroupWithoutKafkaIsRefusedSayingGroupsRunOnKafka() throws Exception {
        // A state dir that cannot be made: were --group taken, the start would fail on it, not wait for the broker.
        Path notADir = Files.writeString(dir.resolve("not-a-dir"), "");
        String[] conn = verifierWithStateDir(notADir.resolve("state"));
        Run run = prospector(cat(conn, "--group", "g"));
        run.assertOneLineError("--group needs --kafka HOST:PORT: verifier groups run on Kafka (the MQTT forwarding"
                + " group was retired, see docs/NETWORK.md)");
        assertEquals(ExitCodes.BAD_INPUT, run.exit());

        // The same from a configuration file, as a systemd unit would start it.
        Path config = dir.resolve("prospector.conf");
        Files.writeString(
                config,
                "broker = tcp://127.0.0.1:1\nfleet = f\nverifier.group = g\nverifier.state-dir = "
                        + notADir.resolve("state") + "\n");
        Run fromFile = prospector("verifier", "--config", config.toString());
        fromFile.assertOneLineError("--group needs --kafka HOST:PORT");
        assertEquals(ExitCodes.BAD_INPUT, fromFile.exit());

        for (String[] args :
                List.of(cat(conn, "--partition", "1/2"), cat(conn, "--group", "g", "--partition", "0/2"))) {
            Run partition = prospector(args);
            partition.assertOneLineError("--partition is no longer an option: verifier groups run on Kafka");
            assertTrue(partition.err().contains("--kafka HOST:PORT --group NAME"), partition.err());
            assertEquals(ExitCodes.BAD_INPUT, partition.exit());
        }
    }

    @Test
    void aReceiptBatchOutOfRangeOrWithKafkaIsRefused(@TempDir Path dir) throws Exception {
        String[] conn = verifierWithStateDir(dir.resolve("state"));
        for (String n : List.of("0", "257")) {
            Run batch = prospector(cat(conn, "--receipt-batch", n));
            batch.assertOneLineError(
                    "--receipt-batch " + n + " is out of range: use 1 (each receipt signed alone) to 256");
            assertEquals(ExitCodes.BAD_INPUT, batch.exit());
        }
        Run kafkaBatch = prospector(cat(conn, "--kafka", "127.0.0.1:1", "--group", "g", "--receipt-batch", "8"));
        kafkaBatch.assertOneLineError("--receipt-batch is the MQTT verifier's");
        assertEquals(ExitCodes.BAD_INPUT, kafkaBatch.exit());
    }

    /**
     * Options a Kafka verifier would not act on are refused, from the command line and from the
     * configuration file, instead of being ignored; the proof-of-service settings are taken.
     */
    @Test
    void mqttOnlyOptionsWithKafkaAreRefusedNotIgnored(@TempDir Path dir) throws Exception {
        String[] kafka = cat(verifierWithStateDir(dir.resolve("state")), "--kafka", "127.0.0.1:1", "--group", "g");
        Run endpoint = prospector(cat(kafka, "--audit-every", "30m", "--measure-port", "8081", "--measure-bind", "::"));
        endpoint.assertOneLineError("--measure-port, --measure-bind set a measurement endpoint in the verifier's"
                + " process, which a Kafka verifier does not run");
        assertTrue(endpoint.err().contains("run `prospector measure` beside it"), endpoint.err());
        assertEquals(ExitCodes.BAD_INPUT, endpoint.exit());

        Run expiry = prospector(cat(kafka, "--session-expiry", "1h"));
        expiry.assertOneLineError("--session-expiry is the MQTT verifier's");
        assertEquals(ExitCodes.BAD_INPUT, expiry.exit());

        Path config = dir.resolve("prospector.conf");
        Files.writeString(config, "verifier.epoch = 2h\nreceipt-batch = 8\n");
        prospector(cat(kafka, "--config", config.toString()))
                .assertOneLineError("--receipt-batch is the MQTT verifier's");
        Files.writeString(config, "verifier.epoch = 2h\nmeasure-max-bytes = 1M\n");
        Run fromFile = prospector(cat(kafka, "--config", config.toString()));
        fromFile.assertOneLineError("--measure-max-bytes sets a measurement endpoint");
        assertEquals(ExitCodes.BAD_INPUT, fromFile.exit());

        // Proof-of-service settings and the defaults are taken: without the Kafka module the run gets
        // as far as looking for it.
        Files.writeString(config, "verifier.epoch = 2h\n");
        prospector(cat(kafka, "--config", config.toString(), "--audit-every", "30m", "--measure-key", "/nope.pub"))
                .assertOneLineError("--measure-key");
        prospector(cat(kafka, "--config", config.toString(), "--audit-every", "30m"))
                .assertOneLineError("--kafka needs the network side's Kafka module, which is not installed");
    }

    /** With --kafka, --group is taken (checked, then handed to the Kafka mode, absent from this class path). */
    @Test
    void withKafkaTheGroupIsCheckedAndHandedOn() {
        String[] conn = {"verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--kafka", "127.0.0.1:1"};
        Run run = prospector(cat(conn, "--group", "g"));
        run.assertOneLineError("--kafka needs the network side's Kafka module, which is not installed");
        assertEquals(ExitCodes.BAD_INPUT, run.exit());

        Run bad = prospector(cat(conn, "--group", "Not A Group"));
        bad.assertOneLineError("--group 'Not A Group' is not valid: use 1-63 lowercase letters, digits, '_' or '-'");
        assertEquals(ExitCodes.BAD_INPUT, bad.exit());

        prospector(conn).assertOneLineError("--kafka needs --group NAME");
    }

    /** A board from the Debian package has no network side: its commands say where they come from. */
    @Test
    void withoutTheNetworkSideVerifierAndMeasureSayWhichPackageHasThem() {
        for (String[] args : List.of(
                new String[] {"verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f", "--state-dir", "/nope"},
                new String[] {"measure", "--port", "0"},
                new String[] {"verifier", "repair", "--help"})) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = ProspectorCommand.execute(
                    args,
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8),
                    false);
            Run run = new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
            run.assertOneLineError("`" + args[0] + "` is the network side, which is not installed here");
            assertTrue(run.err().contains("prospector-network package"), run.err());
            assertEquals(ExitCodes.BAD_INPUT, run.exit());
        }
        picocli.CommandLine board = ProspectorCommand.commandLine(new ProspectorCommand(), false);
        assertEquals(
                ProspectorCommand.commandLine(new ProspectorCommand(), true).getSubcommands().keySet().stream()
                        .toList(),
                board.getSubcommands().keySet().stream().toList(),
                "the same commands in the same order");
        assertCompleteSentences(
                commandSummaries(board.getUsageMessage()), "prospector --help without the network side");
    }

    @Test
    void everySummaryInACommandListIsOneFullSentence() {
        Run help = prospector("--help");
        assertEquals(0, help.exit(), help.err());
        List<String> top = commandSummaries(help.out());
        assertTrue(top.size() >= 8, help.out());
        assertCompleteSentences(top, "prospector --help");
        checkSubcommandLists(ProspectorCommand.commandLine(new ProspectorCommand()));
    }

    private static void checkSubcommandLists(picocli.CommandLine command) {
        for (picocli.CommandLine sub : command.getSubcommands().values()) {
            if (!sub.getSubcommands().isEmpty()) {
                assertCompleteSentences(
                        commandSummaries(sub.getUsageMessage()),
                        sub.getCommandSpec().qualifiedName() + " --help");
                checkSubcommandLists(sub);
            }
        }
    }

    /** The lines of the "Commands:" section of a usage message. */
    static List<String> commandSummaries(String usage) {
        List<String> lines = usage.lines().toList();
        int start = lines.indexOf("Commands:");
        assertTrue(start >= 0, usage);
        return lines.subList(start + 1, lines.size()).stream()
                .takeWhile(l -> l.startsWith("  "))
                .toList();
    }

    /** Each line is one command and a summary that ends with a full stop: nothing wraps onto a next line. */
    static void assertCompleteSentences(List<String> summaries, String where) {
        for (String line : summaries) {
            assertTrue(
                    line.matches("  [a-z]\\S*\\s+[A-Z].*\\."),
                    () -> where + ": not one complete sentence: '" + line + "'");
        }
    }

    @Test
    void helpListsTheExitCodes() {
        Run help = prospector("--help");
        assertEquals(0, help.exit(), help.err());
        List<String> lines = help.out().lines().toList();
        int start = lines.indexOf("Exit codes:");
        assertTrue(start >= 0, help.out());
        List<String> codes = lines.subList(start + 1, lines.size()).stream()
                .map(String::strip)
                .toList();
        for (int code : new int[] {
            ExitCodes.OK, ExitCodes.CHECK_FAILED, ExitCodes.BAD_INPUT, ExitCodes.UNAVAILABLE, ExitCodes.INTERNAL
        }) {
            assertTrue(
                    codes.stream().anyMatch(l -> l.startsWith(code + " ")), () -> code + " missing in:\n" + help.out());
        }
        assertTrue(help.out().contains("check failed"), help.out());
        assertTrue(help.out().contains("bad input"), help.out());
    }
}
