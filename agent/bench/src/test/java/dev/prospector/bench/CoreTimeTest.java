package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class CoreTimeTest {
    @Test
    void procStatGivesIdleWithIowaitOverEveryTickAndTheCoresItCounts() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        var lines = List.of(
                "cpu  100 5 50 800 20 0 25 0 0 0",
                "cpu0 50 2 25 400 10 0 13 0 0 0",
                "cpu1 50 3 25 400 10 0 12 0 0 0",
                "intr 12345",
                "ctxt 999");
        long[] t = CoreTime.parseStat(lines);
        assertEquals(820, t[0]);
        assertEquals(1000, t[1]);
        assertEquals(2, t[2]);
        assertThrows(IllegalArgumentException.class, () -> CoreTime.parseTicks("cpu0 1 2 3 4 5 6 7 8"));
    }

    @Test
    void theCoresOfAWindowAreSplitIntoThisProcessTheBrokerOthersAndIdle() {
        // 2 cores for 1 s over 10,000 reports: 200 us of core time a report. 10 % idle (20 us), this
        // process 1.2 s of CPU (120), the broker 0.4 s (40): other processes the 20 left.
        var before = new CoreTime(0, 1_000, 10_000, 2, 5_000_000_000L, 7_000_000_000L);
        var after = new CoreTime(1_000_000_000L, 1_020, 10_200, 2, 5_400_000_000L, 8_200_000_000L);
        CoreTime.Account a = after.since(before, 10_000).orElseThrow();
        assertEquals(200, a.all(), 1e-9);
        assertEquals(20, a.idle(), 1e-9);
        assertEquals(120, a.process(), 1e-9);
        assertEquals(40, a.broker(), 1e-9);
        assertEquals(20, a.others(), 1e-9);
        // Without the broker's CPU, or without a tick in between, nothing is made up.
        var noBroker = new CoreTime(1_000_000_000L, 1_020, 10_200, 2, -1, 8_200_000_000L);
        assertTrue(noBroker.since(before, 10_000).isEmpty());
        var noTicks = new CoreTime(1_000_000_000L, 1_000, 10_000, 2, 5_400_000_000L, 8_200_000_000L);
        assertTrue(noTicks.since(before, 10_000).isEmpty());
    }

    @Test
    void theMedianIsTakenPartByPart() {
        var m = CoreTime.Account.median(List.of(
                new CoreTime.Account(200, 150, 30, 5, 15),
                new CoreTime.Account(190, 160, 20, 1, 9),
                new CoreTime.Account(210, 140, 40, 3, 27)));
        assertEquals(new CoreTime.Account(200, 150, 30, 3, 15), m);
    }

    @Test
    void aRunningProcesssCpuIsReadFromItsThreadsOnLinux() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux only");
        long pid = ProcessHandle.current().pid();
        long a = CoreTime.processNanos(pid);
        assertTrue(a > 0, "this JVM has used no CPU? " + a);
        assertEquals(-1, CoreTime.processNanos(Long.MAX_VALUE));
        CoreTime now = CoreTime.now(OptionalLong.of(pid));
        assertTrue(now.cpus() >= 1 && now.allTicks() > 0 && now.brokerNanos() >= a, now.toString());
    }
}
