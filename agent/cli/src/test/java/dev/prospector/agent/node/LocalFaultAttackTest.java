package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Report;
import dev.prospector.attest.SignedReport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Someone with local access damages the board's files between two runs of the agent: the chain
 * state rolled back, the outbox journal emptied, damaged or swapped for another board's, the key
 * gone. Whatever happens, no seq is used for two different reports, no report of another device is
 * sent as this one's, every report that may be lost is declared in the {@code lost} claim, and no
 * new identity is made behind the owner's back.
 *
 * <p>The broker is away in these tests (nothing listens on its port), so everything the board made
 * is still in its outbox at the end: that is what it would deliver. A verifier ({@link Appraiser})
 * then appraises it all, and every test prints what was tried, refused and lost.
 */
class LocalFaultAttackTest {
    private static final String FLEET = "lf";
    private static BrokerUrl nowhere;

    @TempDir
    Path dir;

    @BeforeAll
    static void closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nowhere = BrokerUrl.parse("tcp://127.0.0.1:" + s.getLocalPort());
        }
    }

    private static AgentNode board(Path data) {
        return AgentWiring.agent(
                AgentWiring.RunSettings.emulated(nowhere, FLEET, data, Duration.ofHours(1)), Clock.systemUTC());
    }

    private static List<SignedReport> make(AgentNode node, int n) {
        List<SignedReport> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(node.reportNow());
        }
        return out;
    }

    /** What a verifier makes of everything the board at {@code data} still holds to deliver, in order. */
    private record Delivery(
            int accepted,
            int duplicates,
            int refused,
            long gaps,
            long declaredLost,
            int restarts,
            List<String> devices) {}

    private static Delivery deliver(Path data, String device) throws MalformedReportException {
        Appraiser verifier =
                new Appraiser(AppraiserConfig.defaults().withFleet(FLEET).withAllowEmulated(true));
        int accepted = 0;
        int duplicates = 0;
        int refused = 0;
        int restarts = 0;
        long gaps = 0;
        long lost = 0;
        List<String> devices = new ArrayList<>();
        try (OutboxJournal outbox =
                OutboxJournal.open(data.resolve(AgentWiring.OUTBOX_FILE), AgentWiring.DEFAULT_OUTBOX_BYTES, device)) {
            for (OutboxJournal.Entry e : outbox.pending()) {
                var claims = Report.decode(e.report()).claims();
                devices.add(claims.device().value());
                lost = Math.max(lost, claims.lost());
                Appraisal a = verifier.appraise(e.report());
                if (a instanceof Appraisal.Accepted ok) {
                    if (ok.duplicate()) {
                        duplicates++;
                    } else {
                        accepted++;
                        gaps += ok.gap();
                        restarts += ok.chainRestart() ? 1 : 0;
                    }
                } else {
                    refused++;
                    System.out.println("  refused: " + a);
                }
            }
        }
        return new Delivery(accepted, duplicates, refused, gaps, lost, restarts, devices);
    }

    private static void print(String attack, int made, Delivery d) {
        System.out.printf(
                "%s: made %d, delivered %d (accepted %d, counted twice %d, refused %d), chain restarts %d, gap %d, declared lost %d%n",
                attack,
                made,
                d.accepted() + d.duplicates() + d.refused(),
                d.accepted(),
                d.duplicates(),
                d.refused(),
                d.restarts(),
                d.gaps(),
                d.declaredLost());
    }

    @Test
    void aChainStateRolledBackBehindTheOutboxStartsANewChainAndUsesNoSeqTwice() throws Exception {
        Path data = dir.resolve("board");
        String device;
        Path copy = dir.resolve("chain.state.old");
        try (AgentNode node = board(data)) {
            device = node.device();
            node.reportNow();
            Files.copy(data.resolve(ChainState.FILE), copy); // the attacker keeps the state after report 1
            make(node, 2);
        }
        Files.copy(copy, data.resolve(ChainState.FILE), StandardCopyOption.REPLACE_EXISTING);
        List<SignedReport> after;
        try (AgentNode node = board(data)) {
            after = make(node, 2);
        }
        assertEquals(1, after.get(0).claims().seq(), "a new chain: seq 2 is not made a second time");
        assertEquals(
                java.util.Optional.of(ChainState.RESTART_STATE_BEHIND),
                after.get(0).claims().restart());
        Delivery d = deliver(data, device);
        print("rolled-back chain.state", 5, d);
        assertEquals(5, d.accepted(), "every report made is accepted");
        assertEquals(0, d.duplicates() + d.refused(), "none is a replay or counted twice");
        assertEquals(1, d.restarts());
    }

    @Test
    void anOutboxJournalCopiedFromAnotherBoardIsSetAsideAndNoneOfItsReportsIsSentAsThisBoards() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        String deviceA;
        try (AgentNode node = board(a)) {
            deviceA = node.device();
            make(node, 2);
        }
        try (AgentNode node = board(b)) {
            make(node, 3);
        }
        Files.copy(
                b.resolve(AgentWiring.OUTBOX_FILE),
                a.resolve(AgentWiring.OUTBOX_FILE),
                StandardCopyOption.REPLACE_EXISTING);
        try (AgentNode node = board(a)) {
            assertTrue(node.outbox().setAside().isPresent(), "the foreign journal is moved aside");
            assertEquals(0, node.outbox().pendingCount(), "none of board B's reports is pending on board A");
            assertEquals(
                    2,
                    node.outbox().losses().count(),
                    "A's own two reports, whose journal was replaced, are declared lost");
            make(node, 3);
        }
        Delivery d = deliver(a, deviceA);
        print("foreign outbox journal", 5, d);
        assertTrue(d.devices().stream().allMatch(deviceA::equals), "only board A's reports: " + d.devices());
        assertEquals(3, d.accepted());
        assertEquals(2, d.declaredLost(), "the third report of the new chain declares the two lost");
        assertEquals(0, d.duplicates() + d.refused());
    }

    @Test
    void aDamagedOutboxJournalKeepsWhatIsIntactAndDeclaresWhatItLost() throws Exception {
        Path data = dir.resolve("board");
        String device;
        List<SignedReport> made;
        try (AgentNode node = board(data)) {
            device = node.device();
            made = make(node, 5);
        }
        // A flipped bit inside report 3's record (SD card damage).
        Path journal = data.resolve(AgentWiring.OUTBOX_FILE);
        byte[] bytes = Files.readAllBytes(journal);
        int at = indexOf(bytes, made.get(2).bytes()) + 40;
        bytes[at] ^= 0x10;
        Files.write(journal, bytes);
        try (AgentNode node = board(data)) {
            assertEquals(1, node.outbox().losses().count());
            SignedReport next = node.reportNow();
            assertEquals(6, next.claims().seq(), "the chain goes on");
            assertEquals(1, next.claims().lost(), "report 3 is declared lost");
        }
        Delivery d = deliver(data, device);
        print("damaged outbox journal", 6, d);
        assertEquals(5, d.accepted());
        assertEquals(1, d.gaps(), "the verifier sees the hole where report 3 was");
        assertEquals(d.gaps(), d.declaredLost(), "and the board declared it");
        assertEquals(0, d.duplicates() + d.refused());
    }

    @Test
    void anEmptiedOutboxJournalStartsANewChainAndDeclaresWhatMayBeLost() throws Exception {
        Path data = dir.resolve("board");
        String device;
        try (AgentNode node = board(data)) {
            device = node.device();
            make(node, 3);
        }
        Files.write(data.resolve(AgentWiring.OUTBOX_FILE), new byte[0]);
        List<SignedReport> after;
        try (AgentNode node = board(data)) {
            after = make(node, 4);
        }
        assertEquals(
                1,
                after.get(0).claims().seq(),
                "report 4 might have been sent before the journal was lost: a new chain");
        assertEquals(
                java.util.Optional.of(ChainState.RESTART_STORE_LOST),
                after.get(0).claims().restart());
        assertEquals(3, after.get(3).claims().lost(), "reports 1-3, never known delivered, are declared lost");
        Delivery d = deliver(data, device);
        print("emptied outbox journal", 7, d);
        assertEquals(4, d.accepted());
        assertEquals(0, d.duplicates() + d.refused());
    }

    @Test
    void aJournalBehindTheChainStateDeclaresTheMissingReportsAndTheChainGoesOn() throws Exception {
        Path data = dir.resolve("board");
        String device;
        Path oldJournal = dir.resolve("outbox.old");
        try (AgentNode node = board(data)) {
            device = node.device();
            make(node, 2);
            Files.copy(data.resolve(AgentWiring.OUTBOX_FILE), oldJournal);
            make(node, 2);
        }
        Files.copy(oldJournal, data.resolve(AgentWiring.OUTBOX_FILE), StandardCopyOption.REPLACE_EXISTING);
        List<SignedReport> after;
        try (AgentNode node = board(data)) {
            after = make(node, 1);
            assertEquals(2, node.outbox().losses().count());
        }
        assertEquals(5, after.get(0).claims().seq(), "seqs 3 and 4 are not made again");
        assertEquals(2, after.get(0).claims().lost());
        Delivery d = deliver(data, device);
        print("outbox journal rolled back", 5, d);
        assertEquals(3, d.accepted());
        assertEquals(2, d.gaps());
        assertEquals(d.gaps(), d.declaredLost());
        assertEquals(0, d.duplicates() + d.refused());
    }

    @Test
    void aKeyThatIsADanglingSymlinkIsRefusedNotReplacedByANewIdentity() throws Exception {
        Path data = dir.resolve("board");
        Files.createDirectories(data);
        Files.createSymbolicLink(data.resolve(DeviceKeys.PRIVATE_KEY_FILE), dir.resolve("unmounted/device.key"));
        Failure e = assertThrows(Failure.class, () -> board(data));
        System.out.println("dangling key symlink: refused: " + e.getMessage());
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertTrue(Files.isSymbolicLink(data.resolve(DeviceKeys.PRIVATE_KEY_FILE)), "the link is left as it was");
        assertFalse(Files.exists(data.resolve(DeviceKeys.PUBLIC_KEY_FILE)), "no new key was made");
    }

    @Test
    void aMissingKeyBesideAChainStateAndOutboxIsRefusedNotReplacedByANewIdentity() throws Exception {
        Path data = dir.resolve("board");
        try (AgentNode node = board(data)) {
            make(node, 2);
        }
        Files.move(data.resolve(DeviceKeys.PRIVATE_KEY_FILE), dir.resolve("moved.key"));
        Failure e = assertThrows(Failure.class, () -> board(data));
        System.out.println("missing key beside chain state: refused: " + e.getMessage());
        assertTrue(e.getMessage().contains("chain.state"), e.getMessage());
        assertFalse(Files.exists(data.resolve(DeviceKeys.PRIVATE_KEY_FILE)), "no new key was made");
        assertEquals(2, ChainState.open(data).seq(), "the chain state is untouched");
    }

    @Test
    void reportOutIntoADirectoryFailsBeforeTheChainMovesSoNoSeqIsBurned() throws Exception {
        Path keys = dir.resolve("keys");
        assertEquals(0, cli("keygen", "--dir", keys.toString()).exit());
        Path folder = Files.createDirectories(dir.resolve("out-is-a-folder"));
        Cli bad = cli(
                "report", "--once", "--key-dir", keys.toString(), "--board", "emulated", "--out", folder.toString());
        System.out.println(
                "report --out DIR: exit " + bad.exit() + ": " + bad.err().strip());
        assertEquals(ExitCodes.BAD_INPUT, bad.exit());
        assertTrue(bad.err().contains("is a directory"), bad.err());
        assertFalse(Files.exists(keys.resolve(ChainState.FILE)), "no chain position was used");
        // A read-only folder: the write fails inside the signer, before the chain state is written.
        Path readOnly = Files.createDirectories(dir.resolve("read-only"));
        Files.setPosixFilePermissions(readOnly, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
        Cli denied = cli(
                "report",
                "--once",
                "--key-dir",
                keys.toString(),
                "--board",
                "emulated",
                "--out",
                readOnly.resolve("r.cbor").toString());
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root) {
            assertTrue(denied.exit() != 0, denied.err());
            assertFalse(Files.exists(keys.resolve(ChainState.FILE)), "a failed write uses no seq");
        }
        Path file = dir.resolve("r.cbor");
        assertEquals(
                0,
                cli("report", "--once", "--key-dir", keys.toString(), "--board", "emulated", "--out", file.toString())
                        .exit());
        long expected = root && denied.exit() == 0 ? 2 : 1;
        assertEquals(
                expected,
                Report.decode(Files.readAllBytes(file)).claims().seq(),
                "the first report written is seq 1: no seq was burned by the failures");
    }

    @Test
    void reportOnceRefusesTheChainStateOfAnAgentsDataDir() throws Exception {
        Path data = dir.resolve("board");
        try (AgentNode node = board(data)) {
            make(node, 2);
        }
        Cli c = cli(
                "report",
                "--once",
                "--key-dir",
                data.toString(),
                "--board",
                "emulated",
                "--out",
                dir.resolve("r.cbor").toString());
        System.out.println("report --once on an agent's data dir: exit " + c.exit() + ": "
                + c.err().strip());
        assertTrue(c.exit() != 0, c.err());
        assertTrue(c.err().contains("--state-dir"), c.err());
        assertFalse(
                Files.exists(dir.resolve("r.cbor")),
                "no report was made from a chain position the outbox may be ahead of");
        assertEquals(2, ChainState.open(data).seq());
    }

    private record Cli(int exit, String out, String err) {}

    private static Cli cli(String... args) {
        var out = new java.io.ByteArrayOutputStream();
        var err = new java.io.ByteArrayOutputStream();
        int exit = dev.prospector.agent.cli.ProspectorCommand.execute(
                args, new java.io.PrintStream(out, true), new java.io.PrintStream(err, true));
        return new Cli(
                exit,
                out.toString(java.nio.charset.StandardCharsets.UTF_8),
                err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("report not found in the journal");
    }

    @SuppressWarnings("unused")
    private static Appraisal.Accepted accepted(Appraisal a) {
        return assertInstanceOf(Appraisal.Accepted.class, a, a.toString());
    }
}
