package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class CpuTimeTest {
    @Test
    void theJitsTimeIsTakenByThreadSoThatAnEndedCompilerThreadOnlyMakesTheDrainDearer() {
        CpuTime before = new CpuTime(1_000, Map.of(1, 100L, 2, 50L));
        // Thread 2 ended (its 30 ns since are lost), thread 3 started (all of its 40 ns are the JIT's).
        CpuTime after = new CpuTime(2_000, Map.of(1, 300L, 3, 40L));
        assertEquals(240, after.jitSince(before));
        assertEquals(760, after.workSince(before));
        // Never below zero, whatever the samples.
        assertEquals(0, new CpuTime(1_000, Map.of(1, 5_000L)).workSince(before));
    }

    @Test
    void compilerThreadsAreKnownByTheNamesTheKernelKeeps() {
        assertTrue(CpuTime.isCompiler("C2 CompilerThre"));
        assertTrue(CpuTime.isCompiler("C1 CompilerThre"));
        assertFalse(CpuTime.isCompiler("VM Thread"));
        assertFalse(CpuTime.isCompiler("verifier-apprai"));
    }

    @Test
    void thisJvmsCompilerThreadsAreFoundOnLinux() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux only");
        CpuTime now = CpuTime.now();
        assertFalse(now.compilerNanos().isEmpty(), "no C1/C2 compiler thread found in /proc/self/task");
        assertTrue(now.compilerNanos().values().stream().allMatch(n -> n >= 0), now.toString());
        assertTrue(now.processNanos() > 0);
    }

    @Test
    void aThreadsCpuIsCountedUnderItsKind() throws Exception {
        var started = new CountDownLatch(1);
        var done = new CountDownLatch(1);
        ThreadCpu before = ThreadCpu.now();
        Thread t = new Thread(
                () -> {
                    started.countDown();
                    long x = 0;
                    long until = System.nanoTime() + 50_000_000L;
                    while (System.nanoTime() < until) {
                        x += Long.numberOfTrailingZeros(x + System.nanoTime());
                    }
                    if (x == 42) {
                        System.out.println(x);
                    }
                    try {
                        done.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "verifier-appraise-7");
        t.start();
        started.await();
        try {
            // Spin until the thread has used some CPU: no sleep, the thread's own CPU time is the clock.
            Map<String, Double> by;
            do {
                by = ThreadCpu.now().perReport(before, 1_000);
            } while (by.getOrDefault("appraisal workers", 0.0) < 10);
            assertTrue(by.containsKey(ThreadCpu.JIT), by.toString());
            assertTrue(by.containsKey(ThreadCpu.OTHER), by.toString());
            assertTrue(by.values().stream().allMatch(v -> v >= 0), by.toString());
        } finally {
            done.countDown();
            t.join();
        }
        assertEquals("Paho's sender", ThreadCpu.kind("MQTT Snd: prospector-verifier-3"));
        assertEquals("Kafka verifier's poll loop", ThreadCpu.kind("kafka-verifier-bench-1"));
        assertEquals("receipt signer", ThreadCpu.kind("kafka-verifier-receipts-bench-1"));
        assertEquals("main-N", ThreadCpu.kind("main-12"));
    }
}
