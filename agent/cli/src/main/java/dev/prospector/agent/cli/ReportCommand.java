package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.SignedReport;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardSelection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "report",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the board and write one signed report to a file.",
            "The report is a tagged COSE_Sign1, signed with the key in --key-dir; it continues the chain (seq, prev)"
                    + " kept in the state dir."
        })
public final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--once",
            required = true,
            description = "Make one report and exit (periodic reports: `prospector run`).")
    boolean once;

    @Option(
            names = "--key-dir",
            required = true,
            paramLabel = "DIR",
            description = "Folder with device.key (see `prospector keygen`).")
    Path keyDir;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the report.")
    Path out;

    @Option(
            names = "--fleet",
            defaultValue = "default",
            description = "Fleet the report is for (default: ${DEFAULT-VALUE}).")
    String fleet;

    @Option(
            names = "--board",
            defaultValue = "auto",
            converter = BoardOption.class,
            description = "auto or linux (this machine's /proc and /sys), or emulated (default: ${DEFAULT-VALUE}).")
    BoardSelection board;

    @Option(
            names = "--state-dir",
            paramLabel = "DIR",
            description = "Where the chain state lives (default: the key dir).")
    Path stateDir;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            description = "Folder whose filesystem the storage readings describe (default: the key dir).")
    Path dataDir;

    @Override
    public Integer call() {
        AgentWiring.requireFleet(fleet);
        if (Files.isDirectory(out)) {
            throw new Failure("--out " + out + " is a directory: name a file, e.g. " + out.resolve("report.cbor"));
        }
        DeviceKeys keys = loadKeys(keyDir);
        Path state = stateDir == null ? keyDir : stateDir;
        Path data = dataDir == null ? keyDir : dataDir;
        if (Files.exists(state.resolve(AgentWiring.OUTBOX_FILE))) {
            // The data dir of `prospector run`: its chain position is the outbox's newest report,
            // and chain.state only a checkpoint that may be behind it; signing from it could reuse
            // a seq the agent already sent.
            throw new Failure("the chain state in " + state + " belongs to `prospector run` (an "
                    + AgentWiring.OUTBOX_FILE + " is beside it): give `report` its own --state-dir");
        }
        SignedReport report;
        try (Board b = AgentWiring.board(board, data, 1, Clock.systemUTC())) {
            ReportSigner signer = new ReportSigner(keys, ChainState.open(state));
            byte[] configHash = AgentWiring.configHash("report", fleet, board.name());
            // The file is written before the chain state moves on: if it cannot be, no seq is used.
            report = signer.sign(
                    AgentWiring.reportFactory(fleet, configHash, Clock.systemUTC(), b.info())
                            .input(b.measure(), Optional.empty()),
                    r -> writeAtomically(out, r.bytes()));
        }
        var w = spec.commandLine().getOut();
        w.println("wrote report seq " + report.claims().seq() + " of device "
                + keys.deviceId().value() + " (" + report.bytes().length + " bytes) to " + out);
        w.flush();
        return 0;
    }

    static DeviceKeys loadKeys(Path dir) {
        if (!Files.exists(dir.resolve(DeviceKeys.PRIVATE_KEY_FILE))) {
            throw new Failure("no device key in " + dir + ": create one with `prospector keygen --dir " + dir + "`");
        }
        DeviceKeyFile.requirePemIfPresent(dir);
        try {
            return DeviceKeys.load(dir);
        } catch (KeyCustodyException e) {
            throw new Failure(e.getMessage());
        }
    }

    /** Writes the report file atomically ({@link AtomicFiles}), {@code rw-------}. */
    static void writeAtomically(Path file, byte[] bytes) {
        try {
            AtomicFiles.write(file.toAbsolutePath(), bytes, AtomicFiles.OWNER_ONLY);
        } catch (IOException e) {
            throw new Failure(
                    "cannot write " + file + ": " + e.getMessage() + " (check the folder exists and is writable)");
        }
    }
}
