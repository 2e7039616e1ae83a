package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ProspectorCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The bench commands in `prospector --help` and `prospector bench --help`: one complete sentence each. */
class BenchHelpTest {
    @Test
    void everyBenchSummaryIsOneFullSentence() {
        String top = help("--help");
        assertTrue(top.contains("  bench "), "the bench command is listed when its jar is on the class path:\n" + top);
        check(summaries(top), "prospector --help");
        check(new CommandLine(new BenchCommand()));
    }

    private static void check(CommandLine command) {
        check(summaries(command.getUsageMessage()), command.getCommandName() + " --help");
        for (CommandLine sub : command.getSubcommands().values()) {
            if (!sub.getSubcommands().isEmpty()) {
                check(sub);
            }
        }
    }

    private static String help(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, exit);
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<String> summaries(String usage) {
        List<String> lines = usage.lines().toList();
        int start = lines.indexOf("Commands:");
        assertTrue(start >= 0, usage);
        return lines.subList(start + 1, lines.size()).stream()
                .takeWhile(l -> l.startsWith("  "))
                .toList();
    }

    private static void check(List<String> summaries, String where) {
        assertTrue(!summaries.isEmpty(), where);
        for (String line : summaries) {
            assertTrue(
                    line.matches("  [a-z]\\S*\\s+[A-Z].*\\."),
                    () -> where + ": not one complete sentence: '" + line + "'");
        }
    }
}
