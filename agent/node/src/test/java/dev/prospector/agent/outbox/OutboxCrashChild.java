package dev.prospector.agent.outbox;

import java.nio.file.Path;
import java.util.Random;

/** Appends reports forever, printing each seq after append returned; killed by the test. */
public final class OutboxCrashChild {
    private OutboxCrashChild() {}

    public static void main(String[] args) {
        try (OutboxJournal j = OutboxJournal.open(Path.of(args[0]), 64L << 20, "pcrashchild")) {
            for (long seq = 1; ; seq++) {
                byte[] b = new byte[400];
                new Random(seq).nextBytes(b);
                j.append(seq, b);
                System.out.println(seq);
                System.out.flush();
            }
        }
    }
}
