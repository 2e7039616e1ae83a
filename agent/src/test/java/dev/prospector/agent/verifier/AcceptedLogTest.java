package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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
            out.add(signer.sign(new ReportInput("f", Instant.now(), 1, Optional.empty(), "boot", Duration.ofSeconds(i + 1),
                    List.of(new MeasurementClaim("uptime", i + 1, "s", "test")), "1.0", new byte[32])));
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
            assertTrue(assertInstanceOf(Appraisal.Accepted.class, again).duplicate(), "the same report again counts once");

            // Another report claiming seq 3 of the same chain: a replay, as before the restart.
            SignedReport other = reports(new ReportSigner(keys, ChainState.open(fork)), 1).get(0);
            assertEquals(3, other.claims().seq());
            Appraisal replay = after.appraise(other.bytes());
            assertEquals(ReasonCode.REPLAY, assertInstanceOf(Appraisal.Rejected.class, replay).reason(), replay.toString());

            SignedReport next = reports(signer, 1).get(0);
            Appraisal.Accepted ok = assertInstanceOf(Appraisal.Accepted.class, after.appraise(next.bytes()));
            assertEquals(6, ok.seq());
            assertEquals(0, ok.gap(), "the chain continues where it was");
            assertTrue(!ok.chainRestart());
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
            assertEquals(List.of(1L, 2L), restored.stream().map(Appraiser.AcceptedEntry::seq).toList());
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
            assertEquals(ReasonCode.REPLAY, assertInstanceOf(Appraisal.Rejected.class, stale).reason());
        }
    }
}
