package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.common.Failure;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.Boards;
import dev.prospector.hardware.Fault;
import dev.prospector.hardware.Faults;
import dev.prospector.hardware.Reading;
import dev.prospector.hardware.Snapshot;
import dev.prospector.hardware.board.BoardInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector hardware}: what the agent measures on this board, the first thing to run on
 * a new Pi. Prints a table, or with {@code --json} one object
 * {@code {"board": {...}, "measurements": [...]}}.
 */
@Command(
        name = "hardware",
        mixinStandardHelpOptions = true,
        description = {
            "Show the board and every measurement the agent takes.",
            "Each with its value, unit and source; measurement names and units: docs/HARDWARE.md."
        })
public final class HardwareCommand implements Callable<Integer> {

    /** Where the agent keeps its state; storage readings are for this directory's filesystem. */
    static final Path DEFAULT_DATA_DIR = Path.of("/var/lib/prospector");

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(
            names = "--root",
            paramLabel = "DIR",
            defaultValue = "/",
            description = "Read /proc and /sys under DIR (default: ${DEFAULT-VALUE}).")
    Path root;

    @Option(
            names = "--board",
            paramLabel = "auto|linux|emulated",
            defaultValue = "linux",
            description = "linux: read this machine (default); emulated: the emulated board; "
                    + "auto: this machine's own readers (never emulated).")
    String board;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            description = "The data dir whose storage is measured (default: /var/lib/prospector, "
                    + "or the current directory if that does not exist).")
    Path dataDir;

    @Option(
            names = "--interface",
            paramLabel = "NAME",
            description = "Network interface to measure (default: the default route's).")
    String networkInterface;

    @Option(
            names = "--fault",
            paramLabel = "FAULT",
            split = ",",
            description = "With --board emulated: switch a fault on (link-down, disk-full, "
                    + "read-only-fs, under-voltage, thermal-throttling, clock-jump, "
                    + "i2c-sensor-missing, i2c-sensor-error, slow-sensor). Repeatable.")
    List<String> faults = new ArrayList<>();

    @Override
    public Integer call() {
        BoardConfig config = config();
        try (Board b = Boards.open(config)) {
            Snapshot snapshot = b.measure();
            PrintWriter out = spec.commandLine().getOut();
            out.print(json ? json(b.info(), snapshot) + "\n" : table(b.info(), snapshot));
            out.flush();
        }
        return 0;
    }

    private BoardConfig config() {
        BoardSelection selection = selection(board);
        if (!Files.isDirectory(root)) {
            throw new Failure("--root " + root + " is not a directory: give the directory that "
                    + "holds proc/ and sys/ (/ on the board itself)");
        }
        Path data = dataDir;
        if (data == null) {
            data = Files.isDirectory(DEFAULT_DATA_DIR)
                    ? DEFAULT_DATA_DIR
                    : Path.of("").toAbsolutePath();
        } else if (!Files.isDirectory(data)) {
            throw new Failure(
                    "--data-dir " + data + " is not a directory: create it or give the " + "agent's data dir");
        }
        Set<Fault> faultSet = EnumSet.noneOf(Fault.class);
        try {
            for (String f : faults) {
                faultSet.addAll(Faults.parse(f));
            }
        } catch (IllegalArgumentException e) {
            throw new Failure("--fault: " + e.getMessage());
        }
        if (!faultSet.isEmpty() && Boards.resolve(selection, root) != BoardSelection.EMULATED) {
            throw new Failure("--fault only works on the emulated board: add --board emulated");
        }
        try {
            BoardConfig config = BoardConfig.defaults(data.toAbsolutePath())
                    .withSelection(selection)
                    .withRoot(root.toAbsolutePath())
                    .withFaults(faultSet);
            return networkInterface == null ? config : config.withNetworkInterface(networkInterface);
        } catch (IllegalArgumentException e) {
            throw new Failure("--interface: " + e.getMessage());
        }
    }

    private static BoardSelection selection(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "auto":
                return BoardSelection.AUTO;
            case "linux":
                return BoardSelection.LINUX;
            case "emulated":
                return BoardSelection.EMULATED;
            default:
                throw new Failure("--board " + name + " is not a board: use auto, linux or emulated");
        }
    }

    static String table(BoardInfo info, Snapshot s) {
        StringBuilder b = new StringBuilder();
        b.append("board: ")
                .append(info.kind())
                .append(" (")
                .append(info.model())
                .append(", ")
                .append(info.arch())
                .append(", sha2 ")
                .append(info.sha2Extensions() ? "yes" : "no")
                .append(")");
        s.bootId().ifPresent(id -> b.append("  boot id ").append(id));
        b.append('\n');
        int nameWidth = "NAME".length();
        int valueWidth = "VALUE".length();
        int unitWidth = "UNIT".length();
        List<String[]> rows = new ArrayList<>();
        for (Reading r : s.readings()) {
            String[] row;
            if (r instanceof Reading.Value v) {
                String shown = v.unit().equals("flags") ? "0x" + Long.toHexString((long) v.value()) : number(v.value());
                row = new String[] {v.name(), shown, v.unit(), v.source()};
            } else {
                Reading.Unavailable u = (Reading.Unavailable) r;
                row = new String[] {u.name(), "unavailable", "-", u.reason()};
            }
            nameWidth = Math.max(nameWidth, row[0].length());
            valueWidth = Math.max(valueWidth, row[1].length());
            unitWidth = Math.max(unitWidth, row[2].length());
            rows.add(row);
        }
        String format = "%-" + nameWidth + "s  %" + valueWidth + "s  %-" + unitWidth + "s  %s%n";
        b.append(String.format(Locale.ROOT, format, "NAME", "VALUE", "UNIT", "SOURCE"));
        for (String[] row : rows) {
            b.append(String.format(Locale.ROOT, format, (Object[]) row));
        }
        return b.toString();
    }

    static String json(BoardInfo info, Snapshot s) {
        CBORObject boardObject = CBORObject.NewOrderedMap()
                .Add("kind", info.kind())
                .Add("model", info.model())
                .Add("arch", info.arch())
                .Add("sha2", info.sha2Extensions());
        s.bootId().ifPresent(id -> boardObject.Add("boot_id", id));
        CBORObject list = CBORObject.NewArray();
        for (Reading r : s.readings()) {
            CBORObject m = CBORObject.NewOrderedMap().Add("name", r.name());
            if (r instanceof Reading.Value v) {
                m.Add("value", jsonNumber(v.value())).Add("unit", v.unit()).Add("source", v.source());
            } else {
                m.Add("unavailable", ((Reading.Unavailable) r).reason());
            }
            list.Add(m);
        }
        return JsonOutput.of(
                CBORObject.NewOrderedMap().Add("board", boardObject).Add("measurements", list));
    }

    /** Whole numbers without a fraction (byte counts), others as they are. */
    private static CBORObject jsonNumber(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 9.0e15) {
            return CBORObject.FromObject((long) v);
        }
        return CBORObject.FromObject(v);
    }

    private static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 9.0e15) {
            return Long.toString((long) v);
        }
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
