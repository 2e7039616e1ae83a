package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 in the middle of a block: a child JVM applies blocks to a node with a data directory and
 * is killed (SIGKILL, no shutdown hooks) right after it reports a block durable, while it works on
 * the next one. A node reopened on the same directory must be at a complete block, at least the
 * last one reported, with exactly that block's state root, and must accept the rest of the chain.
 */
class KillNineRecoveryIT {
    private static final int BLOCKS = 24;
    private static final int KILL_AFTER = 8;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aNodeKilledMidBlockResumesAtTheLastCompleteBlockWithTheRightRoot(@TempDir Path tmp) throws Exception {
        Workload w = Workload.start(new Workload.Spec(5_000, 1_500, 0, 0.1, 7));
        List<byte[]> blocks = new ArrayList<>();
        List<byte[]> roots = new ArrayList<>();
        Path file = tmp.resolve("chain.plf");
        try (BlockFile.Writer out = new BlockFile.Writer(file, w.genesis())) {
            for (int i = 0; i < BLOCKS; i++) {
                byte[] b = w.nextBlock(0.1);
                blocks.add(b);
                roots.add(w.builder().chain().state().root(null));
                out.append(b);
            }
        }
        Path data = tmp.resolve("data");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        classpath,
                        KillNineChild.class.getName(),
                        data.toString(),
                        file.toString())
                .redirectErrorStream(true)
                .start();
        long reported = 0;
        try (BufferedReader lines =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("committed ")) {
                    reported = Long.parseLong(line.substring(10).trim());
                    if (reported >= KILL_AFTER) {
                        child.destroyForcibly();
                        break;
                    }
                }
            }
        }
        child.waitFor();
        assertTrue(reported >= KILL_AFTER, "the child reported only " + reported + " blocks before exiting");

        try (LedgerNode node = LedgerNode.open(
                w.genesis(),
                new LedgerNode.Config(Optional.of(data), 2, 5, true),
                AttestationSigner.ed25519(Keys.derived(1, 1)))) {
            long h = node.height();
            assertTrue(h >= reported && h < BLOCKS, "resumed at " + h + ", last reported durable " + reported);
            assertArrayEquals(roots.get((int) h - 1), node.stateRoot(), "root at height " + h);
            for (int i = (int) h; i < BLOCKS; i++) {
                Attestation a = node.onBlock(blocks.get(i));
                assertTrue(a.valid(), a.toString());
            }
            assertArrayEquals(roots.get(BLOCKS - 1), node.stateRoot());
        }
    }
}
