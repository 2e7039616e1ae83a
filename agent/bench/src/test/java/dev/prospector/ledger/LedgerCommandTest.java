package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import dev.prospector.agent.cli.ExitCodes;
import dev.prospector.agent.cli.LedgerCommand;
import dev.prospector.agent.common.Failure;
import dev.prospector.bench.BenchExecutorCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class LedgerCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    private static Run run(Object command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((ex, c, p) -> {
            if (ex instanceof Failure u) {
                err.write("prospector: " + u.getMessage());
                return ExitCodes.of(u.kind());
            }
            throw ex;
        });
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static List<String> roots(String text, Pattern p) {
        Matcher m = p.matcher(text);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    @Test
    void validateReproducesEveryRootThatGenWrote() {
        String file = dir.resolve("chain.plf").toString();
        Run gen = run(
                new LedgerCommand(),
                "gen",
                "--txs",
                "300",
                "--accounts",
                "2000",
                "--contention",
                "0.5",
                "--seed",
                "3",
                "--blocks",
                "3",
                "--out",
                file);
        assertEquals(0, gen.exit(), gen.err());
        Run val = run(new LedgerCommand(), "validate", file, "--threads", "2");
        assertEquals(0, val.exit(), val.err());
        List<String> written = roots(gen.out(), Pattern.compile("root ([0-9a-f]{64})"));
        List<String> validated = roots(val.out(), Pattern.compile("root ([0-9a-f]{64}), valid"));
        assertEquals(3, written.size());
        assertEquals(written, validated);
        assertTrue(val.out().contains("tx/s"), val.out());
    }

    @Test
    void validateWithDataImportsOnceAndResumesFromTheDirectory() {
        String file = dir.resolve("chain.plf").toString();
        String data = dir.resolve("node").toString();
        assertEquals(
                0,
                run(new LedgerCommand(), "gen", "--txs", "100", "--accounts", "500", "--blocks", "3", "--out", file)
                        .exit());
        Run first = run(new LedgerCommand(), "validate", file, "--data", data, "--snapshot-every", "2");
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("block 3: 100 txs"), first.out());
        Run again = run(new LedgerCommand(), "validate", file, "--data", data);
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.out().contains("at height 3"), again.out());
        assertTrue(again.out().contains("(1 blocks replayed from the log)"), again.out());
        assertTrue(again.out().contains("block 2: already in"), again.out());
    }

    @Test
    void validateReportsAnInvalidBlockAndFails() throws Exception {
        Fixtures f = new Fixtures();
        ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10));
        d.stateRoot = new byte[32];
        Path file = dir.resolve("bad.plf");
        try (BlockFile.Writer w = new BlockFile.Writer(file, f.genesis)) {
            w.append(d.seal());
        }
        Run val = run(new LedgerCommand(), "validate", file.toString(), "--threads", "1");
        assertEquals(ExitCodes.CHECK_FAILED, val.exit());
        assertTrue(val.out().contains("invalid: wrong-state-root"), val.out());
    }

    @Test
    void balanceWithProofShowsTheAccountAndAVerifiedProof() throws Exception {
        Fixtures f = new Fixtures();
        Path file = dir.resolve("chain.plf");
        try (BlockFile.Writer w = new BlockFile.Writer(file, f.genesis)) {
            w.append(f.builder.next(f.transfer(f.aliceKey, 0, f.bob, 10)));
        }
        Run bal = run(new LedgerCommand(), "balance", f.bob.hex(), "--file", file.toString(), "--proof");
        assertEquals(0, bal.exit(), bal.err());
        assertTrue(bal.out().contains("balance " + (Fixtures.START_BALANCE + 10)), bal.out());
        assertTrue(bal.out().contains("proof verifies against state root"), bal.out());
    }

    @Test
    void balanceReadsANodesDataDirectoryWithItsGenesis() throws Exception {
        Path file = dir.resolve("chain.plf");
        Path genesis = dir.resolve("genesis.bin");
        Run gen = run(
                new LedgerCommand(),
                "gen",
                "--txs",
                "50",
                "--accounts",
                "300",
                "--blocks",
                "2",
                "--out",
                file.toString(),
                "--genesis-out",
                genesis.toString());
        assertEquals(0, gen.exit(), gen.err());
        Path data = dir.resolve("data");
        Genesis g = Genesis.read(genesis);
        Address someone;
        try (BlockFile.Reader r = new BlockFile.Reader(file);
                LedgerNode node = LedgerNode.open(
                        g,
                        new LedgerNode.Config(java.util.Optional.of(data), 1, 100, true),
                        AttestationSigner.ed25519(Keys.derived(9, 9)))) {
            for (var b = r.next(); b.isPresent(); b = r.next()) {
                assertTrue(node.onBlock(b.get()).valid());
            }
            someone = Keys.publicKey(Keys.derived(1, 0));
        }
        Run bal = run(
                new LedgerCommand(),
                "balance",
                someone.hex(),
                "--genesis",
                genesis.toString(),
                "--data",
                data.toString(),
                "--proof");
        assertEquals(0, bal.exit(), bal.err());
        assertTrue(bal.out().contains("height 2"), bal.out());
        assertTrue(bal.out().contains("proof verifies"), bal.out());
    }

    @Test
    void balanceWithoutAShardIsAUserErrorNamingTheFix() {
        Run bal = run(new LedgerCommand(), "balance", "ab".repeat(32));
        assertEquals(ExitCodes.BAD_INPUT, bal.exit());
        assertTrue(bal.err().contains("--file"), bal.err());
    }

    @Test
    void aMalformedAddressIsAUserErrorNamingTheFix() {
        Run bal = run(
                new LedgerCommand(),
                "balance",
                "12ab",
                "--file",
                dir.resolve("x.plf").toString());
        assertEquals(ExitCodes.BAD_INPUT, bal.exit());
        assertTrue(bal.err().contains("64 hex digits"), bal.err());
    }

    @Test
    void aMissingBlockFileIsAUserErrorNamingTheFix() {
        Run val = run(new LedgerCommand(), "validate", dir.resolve("nope.plf").toString());
        assertEquals(ExitCodes.BAD_INPUT, val.exit());
        assertTrue(val.err().contains("ledger gen"), val.err());
    }

    @Test
    void benchJsonIsAnArrayOfRowsWithEqualRootsPerContention() {
        Run bench = run(
                new BenchExecutorCommand(),
                "--accounts",
                "3000",
                "--txs",
                "400",
                "--repeats",
                "1",
                "--threads",
                "2",
                "--json");
        // A small run may miss the targets (exit 1, BELOW TARGET in the summary on stderr), never agree on different
        // roots.
        assertEquals(bench.err().contains("BELOW TARGET") ? ExitCodes.CHECK_FAILED : 0, bench.exit(), bench.err());
        assertFalse(bench.err().contains("STATE ROOTS DIFFER"), bench.err());
        CBORObject rows = CBORObject.FromJSONString(bench.out());
        assertEquals(CBORType.Array, rows.getType());
        assertEquals(
                2 * 3 * 3, rows.size(), "sequential + parallel 1..2, three contentions, with and without signatures");
        Set<String> fields = Set.of(
                "mode", "threads", "contention", "signatures", "accounts", "txs", "seconds", "tps", "state_root");
        Map<String, Set<String>> rootsByContention = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            CBORObject row = rows.get(i);
            Set<String> keys = new HashSet<>();
            for (CBORObject k : row.getKeys()) {
                keys.add(k.AsString());
            }
            assertEquals(fields, keys);
            assertTrue(Set.of("sequential", "parallel").contains(row.get("mode").AsString()));
            assertTrue(Set.of("low", "medium", "full")
                    .contains(row.get("contention").AsString()));
            rootsByContention
                    .computeIfAbsent(row.get("contention").AsString(), k -> new HashSet<>())
                    .add(row.get("state_root").AsString());
        }
        rootsByContention.values().forEach(r -> assertEquals(1, r.size(), "one root per contention level: " + r));
    }
}
