package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.Sha256;
import dev.prospector.attest.SignedReport;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A restarted verifier remembers what it accepted: duplicates, replays and chains as before. */
class AcceptedLogTest {
    @TempDir
    Path dir;

    private final DeviceKeys keys = DeviceKeys.generate();

    private List<SignedReport> reports(ReportSigner signer, int n) {
        List<SignedReport> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(signer.sign(new ReportInput(
                    "f",
                    Instant.now(),
                    1,
                    Optional.empty(),
                    "boot",
                    Duration.ofSeconds(i + 1),
                    List.of(new MeasurementClaim("uptime", i + 1, "s", "test")),
                    "1.0",
                    new byte[32])));
        }
        return out;
    }

    private static Appraiser appraiser() {
        return new Appraiser(AppraiserConfig.defaults().withFleet("f"));
    }

    private static void acceptAll(Appraiser a, AcceptedLog log, List<SignedReport> reports) throws Exception {
        for (SignedReport r : reports) {
            Appraisal.Accepted ok = assertInstanceOf(Appraisal.Accepted.class, a.appraise(r.bytes()));
            log.append(Appraiser.AcceptedEntry.of(ok.claims(), r.bytes())).get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void afterARestartADuplicateIsStillADuplicateAndAReplayStillRefused() throws Exception {
        Path file = dir.resolve("accepted.log");
        Path state = Files.createDirectories(dir.resolve("device"));
        ReportSigner signer = new ReportSigner(keys, ChainState.open(state));
        List<SignedReport> first = new ArrayList<>(reports(signer, 2));
        // Keep the chain position after seq 2: signing from it again forks the chain at seq 3.
        Path fork = Files.createDirectories(dir.resolve("fork"));
        Files.copy(state.resolve(ChainState.FILE), fork.resolve(ChainState.FILE));
        first.addAll(reports(signer, 3));
        Appraiser before = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, before::restore)) {
            acceptAll(before, log, first);
        }

        Appraiser after = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, after::restore)) {
            Appraisal again = after.appraise(first.get(2).bytes());
            assertTrue(
                    assertInstanceOf(Appraisal.Accepted.class, again).duplicate(), "the same report again counts once");

            // Another report claiming seq 3 of the same chain: a replay, as before the restart.
            SignedReport other =
                    reports(new ReportSigner(keys, ChainState.open(fork)), 1).get(0);
            assertEquals(3, other.claims().seq());
            Appraisal replay = after.appraise(other.bytes());
            assertEquals(
                    ReasonCode.REPLAY,
                    assertInstanceOf(Appraisal.Rejected.class, replay).reason(),
                    replay.toString());

            SignedReport next = reports(signer, 1).get(0);
            Appraisal.Accepted ok = assertInstanceOf(Appraisal.Accepted.class, after.appraise(next.bytes()));
            assertEquals(6, ok.seq());
            assertEquals(0, ok.gap(), "the chain continues where it was");
            assertTrue(!ok.chainRestart());
        }
    }

    @Test
    void aLateCopyIsFoundByItsBytesFurtherBackThanTheAppraisersWindowAndNothingElseIs() throws Exception {
        Path file = dir.resolve("accepted.log");
        Path state = Files.createDirectories(dir.resolve("device"));
        ReportSigner signer = new ReportSigner(keys, ChainState.open(state));
        List<SignedReport> all = new ArrayList<>(reports(signer, 49));
        // The chain position after seq 49: signing from it again makes another seq 50.
        Path fork = Files.createDirectories(dir.resolve("fork"));
        Files.copy(state.resolve(ChainState.FILE), fork.resolve(ChainState.FILE));
        all.addAll(reports(signer, 51)); // seqs 1..100
        SignedReport fifty = all.get(49);
        SignedReport otherFifty =
                reports(new ReportSigner(keys, ChainState.open(fork)), 1).get(0);
        assertEquals(50, otherFifty.claims().seq());
        var device = fifty.claims().device();
        byte[] chain = fifty.claims().chain();
        Appraiser a = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, a::restore)) {
            acceptAll(a, log, all);
            // 50 seqs behind the newest: past the appraiser's window, so it alone says replay.
            assertEquals(
                    ReasonCode.REPLAY,
                    assertInstanceOf(Appraisal.Rejected.class, a.appraise(fifty.bytes()))
                            .reason());
            assertTrue(log.holds(device, chain, 50, Sha256.of(fifty.bytes())), "the same bytes: held");
            assertFalse(log.holds(device, chain, 50, Sha256.of(otherFifty.bytes())), "another report of seq 50");
            assertFalse(log.holds(device, new byte[16], 50, Sha256.of(fifty.bytes())), "another chain");
            assertFalse(
                    log.holds(DeviceKeys.generate().deviceId(), chain, 50, Sha256.of(fifty.bytes())), "another device");
            SignedReport thirty = all.get(29); // 70 behind: past the lookback
            assertFalse(log.holds(device, chain, 30, Sha256.of(thirty.bytes())), "past " + AcceptedLog.LOOKBACK);
            assertTrue(log.holds(device, chain, 100, Sha256.of(all.get(99).bytes())));
        }
        // Compaction (at start) keeps the appraiser's window only: seq 50 is gone, seq 90 is there.
        try (AcceptedLog log = AcceptedLog.open(file, e -> {})) {
            assertFalse(log.holds(device, chain, 50, Sha256.of(fifty.bytes())));
            assertTrue(log.holds(device, chain, 90, Sha256.of(all.get(89).bytes())));
        }
    }

    @Test
    void aTornTailIsCutAndTheRestKept() throws Exception {
        Path file = dir.resolve("accepted.log");
        ReportSigner signer = new ReportSigner(keys, ChainState.inMemory());
        List<SignedReport> first = reports(signer, 3);
        Appraiser before = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, before::restore)) {
            acceptAll(before, log, first);
        }
        long size = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size - 20); // the last entry was being written when the power went
        }
        List<Appraiser.AcceptedEntry> restored = new ArrayList<>();
        try (AcceptedLog log = AcceptedLog.open(file, restored::add)) {
            assertEquals(
                    List.of(1L, 2L),
                    restored.stream().map(Appraiser.AcceptedEntry::seq).toList());
        }
    }

    @Test
    void compactionKeepsTheWindowOfTheCurrentChainAndTheLastOfClosedChains() throws Exception {
        Path file = dir.resolve("accepted.log");
        ReportSigner oldChain = new ReportSigner(keys, ChainState.inMemory());
        List<SignedReport> old = reports(oldChain, 3);
        ReportSigner newChain = new ReportSigner(keys, ChainState.inMemory());
        List<SignedReport> current = reports(newChain, 100);
        Appraiser before = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, before::restore)) {
            acceptAll(before, log, old);
            acceptAll(before, log, current);
        }
        List<Appraiser.AcceptedEntry> restored = new ArrayList<>();
        try (AcceptedLog log = AcceptedLog.open(file, restored::add)) {
            assertEquals(1 + dev.prospector.attest.Limits.DUPLICATE_WINDOW, restored.size());
            assertEquals(3, restored.get(0).seq(), "the old chain's last entry, so it stays closed");
            assertEquals(100, restored.get(restored.size() - 1).seq());
        }
        // And the old chain is still refused after a restart.
        Appraiser after = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, after::restore)) {
            Appraisal stale = after.appraise(reports(oldChain, 1).get(0).bytes());
            assertEquals(
                    ReasonCode.REPLAY,
                    assertInstanceOf(Appraisal.Rejected.class, stale).reason());
        }
    }

    /** A log of five acceptances of one device, closed; and the signer to make more of its reports. */
    private List<SignedReport> fiveAccepted(Path file, ReportSigner signer) throws Exception {
        List<SignedReport> accepted = reports(signer, 5);
        Appraiser before = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, before::restore)) {
            acceptAll(before, log, accepted);
        }
        return accepted;
    }

    /** Flips one byte inside the body of the third of the file's records. */
    private static void flipAByteOfTheThirdRecord(Path file) throws Exception {
        byte[] all = Files.readAllBytes(file);
        int pos = 8;
        for (int i = 0; i < 2; i++) {
            pos += 8 + java.nio.ByteBuffer.wrap(all, pos, 4).getInt();
        }
        all[pos + 8 + 30] ^= 0x01;
        Files.write(file, all);
    }

    @Test
    void oneFlippedByteMidFileRefusesTheStartMovesTheLogAsideAndNamesTheRepair() throws Exception {
        Path file = dir.resolve("accepted.log");
        fiveAccepted(file, new ReportSigner(keys, ChainState.inMemory()));
        flipAByteOfTheThirdRecord(file);

        List<Appraiser.AcceptedEntry> restored = new ArrayList<>();
        var e = assertThrows(AcceptedLog.DamagedException.class, () -> AcceptedLog.open(file, restored::add));
        assertTrue(
                e.getMessage().contains("prospector verifier repair --state-dir " + dir.toAbsolutePath()),
                e.getMessage());
        assertTrue(e.getMessage().contains(e.aside().toString()), e.getMessage());
        assertTrue(
                e.aside().getFileName().toString().startsWith("accepted.log.corrupt-"),
                e.aside().toString());
        assertTrue(Files.exists(e.aside()) && !Files.exists(file), "moved aside, not cut or compacted away");
        assertEquals(List.of(), restored, "nothing replayed from a damaged log");

        // And it stays refused: a start must not begin afresh beside the damaged copy.
        var again = assertThrows(AcceptedLog.DamagedException.class, () -> AcceptedLog.open(file, restored::add));
        assertTrue(again.getMessage().contains("not repaired yet"), again.getMessage());
        assertEquals(e.aside(), again.aside());
        System.out.println("flipped one byte of record 3 of 5: start refused: " + e.getMessage());
    }

    @Test
    void afterRepairTheSalvagedAcceptancesStillRefuseReplaysAndTheDamagedRecordIsReported() throws Exception {
        Path file = dir.resolve("accepted.log");
        Path state = Files.createDirectories(dir.resolve("device"));
        ReportSigner signer = new ReportSigner(keys, ChainState.open(state));
        // A fork at seq 5: the same chain position signed again gives a different report with seq 5.
        List<SignedReport> accepted = new ArrayList<>(reports(signer, 4));
        Path fork = Files.createDirectories(dir.resolve("fork"));
        Files.copy(state.resolve(ChainState.FILE), fork.resolve(ChainState.FILE));
        accepted.addAll(reports(signer, 1));
        Appraiser before = appraiser();
        try (AcceptedLog log = AcceptedLog.open(file, before::restore)) {
            acceptAll(before, log, accepted);
        }
        flipAByteOfTheThirdRecord(file);
        assertThrows(AcceptedLog.DamagedException.class, () -> AcceptedLog.open(file, e -> {}));

        AcceptedLog.RepairReport report = AcceptedLog.repair(file);
        assertEquals(4, report.kept(), "every record that still checks out");
        assertEquals(1, report.devices());
        assertEquals(1, report.sources().size());
        AcceptedLog.Salvage salvage = report.sources().get(0);
        assertEquals(1, salvage.dropped().size(), "one damaged place");
        assertEquals(
                AcceptedLog.encode(Appraiser.AcceptedEntry.of(
                                accepted.get(2).claims(), accepted.get(2).bytes()))
                        .remaining(),
                salvage.dropped().get(0).length(),
                "exactly the damaged record is dropped");
        assertTrue(
                Files.exists(salvage.file().resolveSibling(salvage.file().getFileName() + ".salvaged")),
                "the damaged copy is kept");

        Appraiser after = appraiser();
        List<Long> seqs = new ArrayList<>();
        try (AcceptedLog log = AcceptedLog.open(file, e -> {
            seqs.add(e.seq());
            after.restore(e);
        })) {
            assertEquals(List.of(1L, 2L, 4L, 5L), seqs);
            SignedReport replay =
                    reports(new ReportSigner(keys, ChainState.open(fork)), 1).get(0);
            assertEquals(5, replay.claims().seq());
            Appraisal refused = after.appraise(replay.bytes());
            assertEquals(
                    ReasonCode.REPLAY,
                    assertInstanceOf(Appraisal.Rejected.class, refused).reason(),
                    refused.toString());
            assertTrue(
                    assertInstanceOf(
                                    Appraisal.Accepted.class,
                                    after.appraise(accepted.get(4).bytes()))
                            .duplicate(),
                    "a salvaged acceptance is still a duplicate, counted once");
            assertTrue(assertInstanceOf(
                            Appraisal.Accepted.class,
                            after.appraise(accepted.get(0).bytes()))
                    .duplicate());
        }
        System.out.println("repair: kept " + report.kept() + " of 5 records, dropped " + salvage.dropped()
                + "; a replay of seq 5 refused, seq 1 and 5 again are duplicates");
    }

    @Test
    void aFileThatDoesNotStartWithTheMagicIsDamageNotAFreshStart() throws Exception {
        Path file = dir.resolve("accepted.log");
        fiveAccepted(file, new ReportSigner(keys, ChainState.inMemory()));
        byte[] all = Files.readAllBytes(file);
        all[0] ^= 0x20;
        Files.write(file, all);
        assertThrows(AcceptedLog.DamagedException.class, () -> AcceptedLog.open(file, e -> {}));
        AcceptedLog.RepairReport report = AcceptedLog.repair(file);
        assertEquals(5, report.kept(), "records after a damaged magic are salvaged too");
    }

    @Test
    void repairWithNothingDamagedChangesNothingThatMatters() throws Exception {
        Path file = dir.resolve("accepted.log");
        fiveAccepted(file, new ReportSigner(keys, ChainState.inMemory()));
        AcceptedLog.RepairReport report = AcceptedLog.repair(file);
        assertEquals(5, report.kept());
        assertEquals(0, report.droppedBytes());
        List<Appraiser.AcceptedEntry> restored = new ArrayList<>();
        AcceptedLog.open(file, restored::add).close();
        assertEquals(5, restored.size());
    }
}
