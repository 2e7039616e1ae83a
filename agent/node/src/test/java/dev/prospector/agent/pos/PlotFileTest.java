package dev.prospector.agent.pos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.Audit;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plot on real files: audits pass, an interrupted plot resumes, damage re-plots, the disk reserve and the rate hold. */
class PlotFileTest {
    private static final DeviceKeys BOARD = DeviceKeys.fromSeed(new byte[32]);
    /** 4096 leaves of 64 bytes: a tree of depth 12, so paths use the tree file's levels 4 to 11. */
    private static final int LEAF = 64;

    private static final long BYTES = 4096L * LEAF;
    /** A checkpoint every 256 leaves. */
    private static final long CHECKPOINT = 256L * LEAF;

    @TempDir
    Path dir;

    private static byte[] seed(int b) {
        byte[] s = new byte[PlotParams.SEED_BYTES];
        java.util.Arrays.fill(s, (byte) b);
        return s;
    }

    private static PlotFile.Settings settings(long reserve, long rate) {
        return new PlotFile.Settings(BYTES, LEAF, reserve, rate, CHECKPOINT);
    }

    private static PlotFile.Environment env(Path d, int seed) {
        return PlotFile.Environment.real(d).withDisk(() -> Long.MAX_VALUE).withSeeds(() -> seed(seed));
    }

    private static PlotFile plotted(Path d, int seed) throws Exception {
        Files.createDirectories(d);
        PlotFile f = PlotFile.open(d, BOARD.deviceId(), settings(0, 0), env(d, seed));
        f.plot();
        return f;
    }

    /** The root of the plot function over {@code params}, computed in memory without the file code. */
    private static byte[] rootInMemory(PlotParams params) {
        byte[] id = Plot.id(BOARD.deviceId(), params);
        byte[][] leaves = new byte[(int) params.leaves()][];
        List<byte[]> hashes = new ArrayList<>();
        for (int i = 0; i < leaves.length; i++) {
            leaves[i] = Plot.label(
                    id,
                    i,
                    i > 0 ? leaves[i - 1] : null,
                    i > 0 ? leaves[(int) Plot.parent(id, i)] : null,
                    params.leafSize());
            hashes.add(Plot.leafHash(leaves[i]));
        }
        return Plot.root(hashes);
    }

    private static void assertAuditsPass(PlotStore store) throws IOException {
        PlotCommitment c = store.commitment().orElseThrow();
        for (int n = 0; n < 6; n++) {
            byte[] nonce = {(byte) n, 7, 7};
            var check =
                    Audit.check(BOARD.deviceId(), c, nonce, Audit.MAX_LEAVES, store.answer(nonce, Audit.MAX_LEAVES));
            assertEquals(new Audit.Check.Passed(Audit.MAX_LEAVES), check, "audit " + n);
        }
    }

    @Test
    void aFinishedPlotCommitsTheRootOfThePlotFunctionAndItsAuditsPass() throws Exception {
        try (PlotFile f = plotted(dir, 1)) {
            PlotCommitment c = f.commitment().orElseThrow();
            assertEquals(new PlotParams(seed(1), 4096, LEAF), c.params());
            assertArrayEquals(rootInMemory(c.params()), c.root());
            assertEquals(PlotStore.State.DONE, f.progress().state());
            assertEquals(100.0, f.progress().percent());
            assertAuditsPass(f);
            assertEquals(BYTES, Files.size(dir.resolve(PlotFile.BIN)));
            assertEquals(PlotFile.treeBytes(4096), Files.size(dir.resolve(PlotFile.TREE)));
        }
        // Opened again: committed at once, nothing to plot.
        try (PlotFile again = PlotFile.open(dir, BOARD.deviceId(), settings(0, 0), env(dir, 2))) {
            assertEquals(
                    seed(1).length, again.commitment().orElseThrow().params().seed().length);
            assertArrayEquals(seed(1), again.commitment().orElseThrow().params().seed());
            assertAuditsPass(again);
        }
    }

    @Test
    void aWrongLeafOnDiskFailsTheAuditThatOpensIt() throws Exception {
        try (PlotFile f = plotted(dir, 1)) {
            PlotCommitment c = f.commitment().orElseThrow();
            byte[] nonce = {42};
            long audited = Audit.indices(nonce, c, 8)[0];
            try (var ch = FileChannel.open(dir.resolve(PlotFile.BIN), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), audited * LEAF + 5);
            }
            var check = Audit.check(BOARD.deviceId(), c, nonce, 8, f.answer(nonce, 8));
            assertInstanceOf(Audit.Check.Failed.class, check);
        }
    }

    /** Thrown from the checkpoint listener: the plotter dies there, as with kill -9 (no close). */
    private static final class Killed extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void aPlotKilledAfterACheckpointResumesThereAndEndsWithTheSameRoot() throws Exception {
        byte[] whole;
        try (PlotFile f = plotted(dir.resolve("whole"), 1)) {
            whole = f.commitment().orElseThrow().root();
        }
        Path d = Files.createDirectories(dir.resolve("killed"));
        AtomicInteger checkpoints = new AtomicInteger();
        AtomicLong killedAt = new AtomicLong();
        PlotFile first =
                PlotFile.open(d, BOARD.deviceId(), settings(0, 0), env(d, 1).withCheckpointListener(done -> {
                    if (checkpoints.incrementAndGet() == 5) {
                        killedAt.set(done);
                        throw new Killed();
                    }
                }));
        assertThrows(Killed.class, first::plot);
        long done = killedAt.get();
        assertEquals(5 * 256, done);
        // What a kill leaves after the checkpoint: leaves written past it (here garbage), a tree cut short.
        byte[] garbage = new byte[10 * LEAF];
        new Random(3).nextBytes(garbage);
        try (var ch = FileChannel.open(d.resolve(PlotFile.BIN), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(garbage), done * LEAF);
        }
        try (var ch = FileChannel.open(d.resolve(PlotFile.TREE), StandardOpenOption.WRITE)) {
            ch.truncate(32 * (done / 16));
        }
        // Resumed with a seed source that would give another plot: the checkpoint's seed is kept.
        AtomicLong firstCheckpoint = new AtomicLong(-1);
        try (PlotFile resumed = PlotFile.open(
                d,
                BOARD.deviceId(),
                settings(0, 0),
                env(d, 9).withCheckpointListener(at -> firstCheckpoint.compareAndSet(-1, at)))) {
            assertTrue(resumed.commitment().isEmpty());
            assertEquals(done * LEAF, resumed.progress().bytesDone(), "progress starts at the checkpoint");
            resumed.plot();
            assertEquals(done + 256, firstCheckpoint.get(), "plotting went on from the checkpoint, not from 0");
            assertArrayEquals(whole, resumed.commitment().orElseThrow().root());
            assertAuditsPass(resumed);
        }
        assertEquals(-1, Files.mismatch(dir.resolve("whole").resolve(PlotFile.BIN), d.resolve(PlotFile.BIN)));
        assertEquals(-1, Files.mismatch(dir.resolve("whole").resolve(PlotFile.TREE), d.resolve(PlotFile.TREE)));
    }

    @Test
    void aDamagedMetaMeansANewPlotWithANewSeed() throws Exception {
        byte[] old;
        try (PlotFile f = plotted(dir, 1)) {
            old = f.commitment().orElseThrow().root();
        }
        Files.write(dir.resolve(PlotFile.META), new byte[] {(byte) 0xa1, 0x61});
        try (PlotFile f = PlotFile.open(dir, BOARD.deviceId(), settings(0, 0), env(dir, 2))) {
            assertTrue(f.commitment().isEmpty(), "nothing committed until the new plot is done");
            assertEquals(0, Files.size(dir.resolve(PlotFile.BIN)), "the damaged plot's leaves are gone");
            f.plot();
            PlotCommitment c = f.commitment().orElseThrow();
            assertArrayEquals(seed(2), c.params().seed());
            assertFalse(java.util.Arrays.equals(old, c.root()));
            assertAuditsPass(f);
        }
    }

    @Test
    void leavesMissingBelowTheCheckpointMeanANewPlot() throws Exception {
        try (PlotFile f = plotted(dir, 1)) {
            assertTrue(f.commitment().isPresent());
        }
        try (var ch = FileChannel.open(dir.resolve(PlotFile.BIN), StandardOpenOption.WRITE)) {
            ch.truncate(BYTES / 2);
        }
        try (PlotFile f = PlotFile.open(dir, BOARD.deviceId(), settings(0, 0), env(dir, 3))) {
            assertTrue(f.commitment().isEmpty());
            f.plot();
            assertArrayEquals(seed(3), f.commitment().orElseThrow().params().seed());
            assertAuditsPass(f);
        }
    }

    @Test
    void anotherDevicesOrAnotherSizesPlotIsReplaced() throws Exception {
        try (PlotFile f = plotted(dir, 1)) {
            assertTrue(f.commitment().isPresent());
        }
        byte[] otherSeed = new byte[32];
        java.util.Arrays.fill(otherSeed, (byte) 5);
        var other = DeviceKeys.fromSeed(otherSeed);
        try (PlotFile f = PlotFile.open(dir, other.deviceId(), settings(0, 0), env(dir, 4))) {
            assertTrue(f.commitment().isEmpty(), "a plot is bound to its device");
        }
        try (PlotFile f = PlotFile.open(
                dir, BOARD.deviceId(), new PlotFile.Settings(BYTES * 2, LEAF, 0, 0, CHECKPOINT), env(dir, 6))) {
            f.plot();
            assertEquals(8192, f.commitment().orElseThrow().params().leaves());
        }
    }

    @Test
    void plottingNeverStartsWhenTheDiskLacksRoomAboveTheReserve() throws Exception {
        // 300 KiB usable, 64 KiB kept: the 256 KiB of leaves and their tree do not fit.
        var env = env(dir, 1).withDisk(() -> 300L << 10);
        try (PlotFile f = PlotFile.open(dir, BOARD.deviceId(), settings(64L << 10, 0), env)) {
            f.plot();
            assertTrue(f.commitment().isEmpty());
            assertEquals(PlotStore.State.STOPPED, f.progress().state());
            assertTrue(
                    f.progress().detail().contains("has 300 KiB free and --plot-reserve keeps 64 KiB"),
                    f.progress().detail());
            assertEquals(0, Files.size(dir.resolve(PlotFile.BIN)), "not a leaf written");
        }
    }

    @Test
    void plottingStopsAtACheckpointWhenTheDiskFillsAndResumesWithRoom() throws Exception {
        AtomicLong usable = new AtomicLong(Long.MAX_VALUE);
        var env = env(dir, 1).withDisk(usable::get).withCheckpointListener(done -> {
            if (done == 1280) {
                usable.set(100L << 10); // someone else filled the disk: less than the rest of the plot
            }
        });
        long stoppedAt;
        try (PlotFile f = PlotFile.open(dir, BOARD.deviceId(), settings(0, 0), env)) {
            f.plot();
            assertTrue(f.commitment().isEmpty());
            assertEquals(PlotStore.State.STOPPED, f.progress().state());
            stoppedAt = f.progress().bytesDone();
            assertTrue(stoppedAt < BYTES, "stopped before the end");
        }
        usable.set(Long.MAX_VALUE);
        try (PlotFile f = PlotFile.open(dir, BOARD.deviceId(), settings(0, 0), env)) {
            assertEquals(stoppedAt, f.progress().bytesDone(), "resumes from where it stopped");
            f.plot();
            assertArrayEquals(
                    rootInMemory(new PlotParams(seed(1), 4096, LEAF)),
                    f.commitment().orElseThrow().root());
        }
    }

    /** Time that passes only when the throttle sleeps: the waits are counted, nothing waits. */
    private static final class FakeTicker implements Throttle.Ticker {
        long now = 1_000;
        long slept;
        int sleeps;

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public void sleep(long nanos) {
            now += nanos;
            slept += nanos;
            sleeps++;
        }
    }

    @Test
    void theRateIsHeldByTheThrottlesWaits() throws Exception {
        var ticker = new FakeTicker();
        long rate = 64L << 10; // 64 KiB/s: the 256 KiB plot takes 4 s
        try (PlotFile f = PlotFile.open(
                dir, BOARD.deviceId(), settings(0, rate), env(dir, 1).withTicker(ticker))) {
            f.plot();
            assertTrue(f.commitment().isPresent());
        }
        assertEquals(4.0, ticker.slept / 1e9, 0.05, "slept as long as the rate asks");
        assertEquals(BYTES / (16 * LEAF), ticker.sleeps, "a wait after every block of 16 leaves");
    }

    @Test
    void anUnlimitedThrottleNeverWaits() throws Exception {
        var ticker = new FakeTicker();
        var t = new Throttle(0, ticker);
        for (int i = 0; i < 100; i++) {
            t.pace(1 << 20);
        }
        assertEquals(0, ticker.sleeps);
        var limited = new Throttle(1 << 20, ticker);
        limited.pace(1 << 20);
        assertEquals(1, limited.waits());
        assertEquals(1_000_000_000L, limited.waitedNanos(), 1000);
    }

    @Test
    void progressIsReportedWithRateAndTimeLeft() {
        var p = new PlotStore.Progress(
                PlotStore.State.PLOTTING, 256L << 20, 1L << 30, 16.0 * (1 << 20), java.time.Duration.ofSeconds(48), "");
        assertEquals("plotting 25.0% of 1024 MiB, 16.0 MiB/s, 48s left", p.toString());
    }
}
