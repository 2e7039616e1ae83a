package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LedgerNodeTest {
    private final Fixtures f = new Fixtures();
    private final AttestationSigner device = AttestationSigner.ed25519(Keys.derived(5, 5));

    @TempDir
    Path dir;

    private LedgerNode open(int snapshotEvery) throws Exception {
        return LedgerNode.open(f.genesis, new LedgerNode.Config(Optional.of(dir), 2, snapshotEvery, true), device);
    }

    private List<byte[]> blocks(int n) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(f.builder.next(f.transfer(f.aliceKey, i, f.bob, 10 + i), f.transfer(f.bobKey, i, f.carol, 3)));
        }
        return out;
    }

    @Test
    void attestsAValidBlockWithTheNewRootSignedByTheDevice() throws Exception {
        try (LedgerNode node = open(100)) {
            Attestation a = node.onBlock(blocks(1).get(0));
            assertTrue(a.valid());
            assertArrayEquals(node.stateRoot(), a.stateRoot());
            assertEquals(1, a.height());
            Attestation decoded = Attestation.decode(a.encode());
            assertTrue(decoded.verifySignature());
            assertEquals(device.device(), decoded.device());
        }
    }

    @Test
    void attestsAnInvalidBlockWithItsReasonAndKeepsTheHead() throws Exception {
        try (LedgerNode node = open(100)) {
            ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10));
            d.stateRoot = new byte[32];
            Attestation a = Attestation.decode(node.onBlock(d.seal()).encode());
            assertFalse(a.valid());
            assertEquals(Optional.of(InvalidReason.WRONG_STATE_ROOT), a.reason());
            assertTrue(a.verifySignature());
            assertEquals(0, node.height());
        }
    }

    @Test
    void aTamperedAttestationFailsItsSignature() throws Exception {
        try (LedgerNode node = open(100)) {
            byte[] enc = node.onBlock(blocks(1).get(0)).encode();
            enc[10] ^= 1;
            assertFalse(Attestation.decode(enc).verifySignature());
        }
    }

    @Test
    void aRedeliveredBlockIsAttestedValidAgain() throws Exception {
        try (LedgerNode node = open(100)) {
            byte[] b = blocks(1).get(0);
            node.onBlock(b);
            Attestation again = node.onBlock(b);
            assertTrue(again.valid(), again.toString());
        }
    }

    @Test
    void aRestartResumesAtTheLastBlockWithTheSameRoot() throws Exception {
        byte[] root;
        try (LedgerNode node = open(1_000)) {
            for (byte[] b : blocks(5)) {
                assertTrue(node.onBlock(b).valid());
            }
            root = node.stateRoot();
        }
        try (LedgerNode node = open(1_000)) {
            assertEquals(5, node.height());
            assertArrayEquals(root, node.stateRoot());
            assertEquals(5, node.replayedBlocks());
        }
    }

    @Test
    void aSnapshotSparesReplayingTheBlocksBeforeIt() throws Exception {
        List<byte[]> bs = blocks(7);
        byte[] root;
        try (LedgerNode node = open(3)) {
            for (byte[] b : bs) {
                assertTrue(node.onBlock(b).valid());
            }
            root = node.stateRoot();
        }
        assertTrue(Files.exists(dir.resolve(SnapshotStore.FILE)));
        try (LedgerNode node = open(3)) {
            assertEquals(7, node.height());
            assertArrayEquals(root, node.stateRoot());
            assertEquals(1, node.replayedBlocks(), "snapshot at 6, only block 7 replayed");
        }
    }

    @Test
    void aTornLastRecordIsCutOffAndTheNodeContinues() throws Exception {
        List<byte[]> bs = blocks(4);
        byte[] rootAt3;
        try (LedgerNode node = open(1_000)) {
            for (byte[] b : bs.subList(0, 3)) {
                node.onBlock(b);
            }
            rootAt3 = node.stateRoot();
        }
        Path log = dir.resolve("blocks.log");
        long whole = Files.size(log);
        byte[] torn = Arrays.copyOf(new byte[] {0x50, 0x4C, 0x42, 0x52, 0, 0, 0x10, 0}, 200);
        Files.write(log, torn, StandardOpenOption.APPEND);
        try (LedgerNode node = open(1_000)) {
            assertEquals(3, node.height());
            assertArrayEquals(rootAt3, node.stateRoot());
            assertEquals(whole, Files.size(log));
            assertTrue(node.onBlock(bs.get(3)).valid());
        }
        try (LedgerNode node = open(1_000)) {
            assertEquals(4, node.height());
        }
    }

    @Test
    void aCorruptedRecordEndsRecoveryAtTheBlockBeforeIt() throws Exception {
        try (LedgerNode node = open(1_000)) {
            for (byte[] b : blocks(3)) {
                node.onBlock(b);
            }
        }
        Path log = dir.resolve("blocks.log");
        byte[] all = Files.readAllBytes(log);
        all[all.length - 100] ^= 1;
        Files.write(log, all);
        try (LedgerNode node = open(1_000)) {
            assertEquals(2, node.height());
        }
    }

    @Test
    void aLogOfAnotherChainIsRefusedNotTruncated() throws Exception {
        try (LedgerNode node = open(1_000)) {
            for (byte[] b : blocks(2)) {
                node.onBlock(b);
            }
        }
        long size = Files.size(dir.resolve("blocks.log"));
        Fixtures other = new Fixtures(Fixtures.START_BALANCE + 1);
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.io.IOException.class,
                () -> LedgerNode.open(other.genesis, new LedgerNode.Config(Optional.of(dir), 1, 1_000, true), device));
        assertTrue(e.getMessage().contains("another chain"), e.getMessage());
        assertEquals(size, Files.size(dir.resolve("blocks.log")), "the foreign log is left as it was");
    }

    @Test
    void invalidBlocksAreNotPersisted() throws Exception {
        try (LedgerNode node = open(1_000)) {
            ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10));
            d.parentHash = new byte[32];
            assertFalse(node.onBlock(d.seal()).valid());
        }
        assertEquals(0, Files.size(dir.resolve("blocks.log")));
    }

    @Test
    void provesABalanceAgainstTheAttestedRoot() throws Exception {
        try (LedgerNode node = open(1_000)) {
            Attestation a = node.onBlock(blocks(1).get(0));
            AccountProof p = node.prove(f.bob);
            assertTrue(p.verify(a.stateRoot()));
            assertEquals(
                    Fixtures.START_BALANCE + 10 - 3 - 1,
                    p.account().orElseThrow().balance());
        }
    }

    @Test
    void aBlockFileRoundTripsGenesisAndBlocks() throws IOException, MalformedException {
        List<byte[]> bs = blocks(2);
        Path file = dir.resolve("chain.plf");
        try (BlockFile.Writer w = new BlockFile.Writer(file, f.genesis)) {
            for (byte[] b : bs) {
                w.append(b);
            }
        }
        try (BlockFile.Reader r = new BlockFile.Reader(file)) {
            assertArrayEquals(f.genesis.hash(), r.genesis().hash());
            assertArrayEquals(bs.get(0), r.next().orElseThrow());
            assertArrayEquals(bs.get(1), r.next().orElseThrow());
            assertTrue(r.next().isEmpty());
        }
    }

    @Test
    void aNodeInMemoryAppliesBlocksToo() throws Exception {
        try (LedgerNode node = LedgerNode.open(f.genesis, LedgerNode.Config.inMemory(1), device)) {
            assertInstanceOf(BlockVerdict.Valid.class, node.apply(blocks(1).get(0)));
        }
    }
}
