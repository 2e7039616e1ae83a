package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChainStateTest {
    @TempDir
    Path dir;

    @Test
    void aRestartedSignerContinuesTheChainWhereItStopped() {
        var keys = DeviceKeys.generate();
        var first = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        var last = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        // "restart" of the process: a new ChainState read from the same file
        var next = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        assertEquals(3, next.claims().seq());
        assertArrayEquals(last.hash(), next.claims().prev().orElseThrow());
        assertArrayEquals(first.claims().chain(), next.claims().chain());
        assertTrue(next.claims().restart().isEmpty());
    }

    @Test
    void theStateIsDurableBeforeTheReportIsReturned() throws Exception {
        var report = new ReportSigner(DeviceKeys.generate(), ChainState.open(dir)).sign(Fixtures.input());
        // Simulate kill -9 right after sign() returned: nothing else was written or flushed.
        var reopened = ChainState.open(dir);
        assertEquals(report.claims().seq(), reopened.seq());
        assertArrayEquals(report.claims().chain(), reopened.chain());
    }

    @Test
    void lostStateStartsANewChainWithARestartClaim() throws Exception {
        var keys = DeviceKeys.generate();
        var old = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        Files.delete(dir.resolve(ChainState.FILE));
        var fresh = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        assertEquals(1, fresh.claims().seq());
        assertTrue(fresh.claims().prev().isEmpty());
        assertEquals(ChainState.RESTART_NO_STATE, fresh.claims().restart().orElseThrow());
        assertFalse(Arrays.equals(old.claims().chain(), fresh.claims().chain()));
    }

    @Test
    void aCorruptStateFileStartsANewChainSayingSo() throws Exception {
        var keys = DeviceKeys.generate();
        new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        Files.write(dir.resolve(ChainState.FILE), new byte[] {(byte) 0xa3, 0x01});
        var fresh = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        assertEquals(1, fresh.claims().seq());
        assertEquals(ChainState.RESTART_CORRUPT_STATE, fresh.claims().restart().orElseThrow());
    }

    @Test
    void concurrentSigningGivesDenseSeqsEachPointingAtItsPredecessor() throws Exception {
        var signer = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
        var reports = new java.util.concurrent.ConcurrentLinkedQueue<SignedReport>();
        var threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 25; i++) {
                    reports.add(signer.sign(Fixtures.input()));
                }
            });
            threads[t].start();
        }
        for (var t : threads) {
            t.join();
        }
        var bySeq = new java.util.TreeMap<Long, SignedReport>();
        reports.forEach(r -> bySeq.put(r.claims().seq(), r));
        assertEquals(100, bySeq.size());
        assertEquals(100L, bySeq.lastKey());
        for (long s = 2; s <= 100; s++) {
            assertArrayEquals(
                    bySeq.get(s - 1).hash(), bySeq.get(s).claims().prev().orElseThrow());
        }
    }
}
