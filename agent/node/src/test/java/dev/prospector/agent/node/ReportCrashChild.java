package dev.prospector.agent.node;

import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.SignedReport;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardSelection;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The agent's report path in a child JVM, for {@link ReportCrashIT}: the outbox and chain state
 * wired as {@code prospector run} wires them ({@link AgentWiring#chain}), with a checkpoint every
 * {@value #CHECKPOINT_REPORTS} reports and compaction and preallocation in 64 KiB steps so that
 * every step happens within a few dozen reports. A report is "published" by printing it
 * ({@code sent HEX}) after {@code sign} returned, and is acknowledged (delivered) two reports later,
 * so the journal compacts as it does while a broker is reachable. At start it first publishes
 * what its outbox holds, as the agent does. Prints {@code stored HEX} once the outbox append
 * returned. Run with {@code -Dprospector.test.halt-at=STEP} it ends itself at that step.
 *
 * <p>Arguments: data dir, reports to make.
 */
public final class ReportCrashChild {
    static final int CHECKPOINT_REPORTS = 8;
    static final OutboxJournal.Tuning TUNING = new OutboxJournal.Tuning(64 * 1024, 64 * 1024);
    private static final int ACK_LAG = 2;

    private ReportCrashChild() {}

    public static void main(String[] args) {
        Path data = Path.of(args[0]);
        int reports = Integer.parseInt(args[1]);
        HexFormat hex = HexFormat.of();
        DeviceKeys keys = DeviceKeys.loadOrCreate(data);
        Clock clock = Clock.systemUTC();
        ReportFactory factory = AgentWiring.reportFactory("crash", AgentWiring.configHash("crash"), clock);
        try (OutboxJournal outbox = OutboxJournal.open(
                        data.resolve(AgentWiring.OUTBOX_FILE),
                        8 << 20,
                        keys.deviceId().value(),
                        TUNING);
                Board board = AgentWiring.board(BoardSelection.EMULATED, data, 1, clock)) {
            ChainState chain = AgentWiring.chain(data, outbox, CHECKPOINT_REPORTS, Duration.ofHours(1));
            for (OutboxJournal.Entry e : outbox.pending()) {
                System.out.println("sent " + hex.formatHex(e.report()));
                outbox.acknowledge(e.id());
            }
            ReportSigner signer = new ReportSigner(keys, chain);
            ArrayDeque<Long> unacknowledged = new ArrayDeque<>();
            for (int i = 0; i < reports; i++) {
                AgentWiring.reconcile(chain, outbox); // as AgentNode.reportNow does before each report
                long[] id = new long[1];
                SignedReport r = signer.sign(factory.input(board.measure(), Optional.empty()), s -> {
                    id[0] = outbox.append(s.claims().seq(), s.claims().chain(), s.bytes());
                    System.out.println("stored " + hex.formatHex(s.bytes()));
                });
                System.out.println("sent " + hex.formatHex(r.bytes()));
                unacknowledged.add(id[0]);
                while (unacknowledged.size() > ACK_LAG) {
                    outbox.acknowledge(unacknowledged.poll());
                }
            }
            chain.checkpoint(); // a clean stop, as AgentNode.close does
            System.out.println("done " + chain.seq());
        }
        System.out.flush();
    }
}
