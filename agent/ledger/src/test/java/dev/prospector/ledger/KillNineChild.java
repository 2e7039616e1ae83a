package dev.prospector.ledger;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The process {@link KillNineRecoveryTest} kills: applies a block file's blocks to a node with a
 * data directory, printing {@code committed <height>} after each block is durable.
 */
public final class KillNineChild {
    private KillNineChild() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path file = Path.of(args[1]);
        try (BlockFile.Reader r = new BlockFile.Reader(file);
                LedgerNode node = LedgerNode.open(
                        r.genesis(),
                        new LedgerNode.Config(Optional.of(dir), 2, 5, true),
                        AttestationSigner.ed25519(Keys.derived(1, 1)))) {
            for (Optional<byte[]> b = r.next(); b.isPresent(); b = r.next()) {
                Attestation a = node.onBlock(b.get());
                if (!a.valid()) {
                    System.out.println("invalid " + a);
                    System.exit(3);
                }
                System.out.println("committed " + a.height());
                System.out.flush();
            }
        }
        System.out.println("done");
    }
}
