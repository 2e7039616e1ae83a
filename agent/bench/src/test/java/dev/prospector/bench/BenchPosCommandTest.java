package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchPosCommandTest {
    @TempDir
    Path dir;

    private record Result(int exit, String out, String err) {}

    private Result execute(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(new BenchPosCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static final String[] SMALL = {"--size", "256K", "--answers", "4", "--rounds", "2", "--slice", "0.01"};

    private String[] small(String... more) {
        var all = new java.util.ArrayList<String>(java.util.List.of(SMALL));
        all.add("--dir");
        all.add(dir.toString());
        all.addAll(java.util.List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void jsonHasEveryPartAndTheFilesAreRemoved() throws IOException {
        var r = execute(small("--json", "--proof-leaves", "1024"));
        assertEquals(0, r.exit(), r.err());
        var json = CBORObject.FromJSONString(r.out().trim());
        assertEquals(256, json.get("leaves").AsInt32Value(), r.out());
        for (String field : new String[] {
            "plot_mib_per_s",
            "board_plot_mib_per_s",
            "board_plot_cpu_us_per_leaf",
            "board_answer_ms_median",
            "regen_seed_only_seconds",
            "regen_kept50_us_per_leaf",
            "regen_kept90_us_per_leaf",
            "answer_ms_median",
            "audit_check_us",
            "audit_check_per_verify",
            "receipt_check_per_verify"
        }) {
            assertTrue(json.ContainsKey(field), field + " missing in " + r.out());
            assertTrue(json.get(field).AsDouble() > 0, field + " not positive in " + r.out());
        }
        assertTrue(json.get("board_root_matches").AsBoolean(), "the board's plotter gives the bench's root");
        assertEquals(10, json.get("proof_path_length").AsInt32Value(), "a separate plot of 1024 leaves");
        try (var left = Files.list(dir)) {
            assertEquals(0, left.count(), "the plot and scratch files are removed");
        }
    }

    @Test
    void theTableNamesThePartsAndAPlotOfTheProofShapeIsReused() {
        var r = execute(small("--proof-leaves", "256"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("plotting, the board's PlotFile"), r.out());
        assertTrue(r.out().contains("plotting, PosPlot (compute"), r.out());
        assertTrue(r.out().contains("cheater, seed only"), r.out());
        assertTrue(r.out().contains("Audit.check, paths of 8"), r.out());
        assertTrue(!r.err().contains("more for the verifier's proofs"), r.err());
    }

    @Test
    void aBadSizeIsAUserError() {
        var r = execute("--size", "1K", "--dir", dir.toString());
        assertTrue(r.exit() != 0, r.out());
    }
}
