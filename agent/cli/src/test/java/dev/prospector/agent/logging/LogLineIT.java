package dev.prospector.agent.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Log lines of the program itself, in a child JVM under its own tinylog.properties: escaped, with
 * or without {@code JOURNAL_STREAM}, and a log level that is not one is said, not ignored. The
 * writer alone: {@link LogLineTest}.
 */
class LogLineIT {
    private static final Pattern TIMESTAMP = Pattern.compile("\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d");

    @TempDir
    Path dir;

    @Test
    void theProgramsConfigurationEscapesLinesAndFollowsJournalStream() throws Exception {
        ChildRun plain = child(Map.of(), "dev.prospector.agent.logging.LogEveryLevel");
        List<String> lines = plain.stderr().lines().toList();
        assertEquals(6, lines.stream().filter(l -> !l.startsWith("\tat ")).count(), plain.stderr());
        for (String line : lines.subList(0, 5)) {
            assertTrue(TIMESTAMP.matcher(line).lookingAt(), line);
            assertTrue(line.endsWith("detail\\n12:00:00.000 ERROR [main] forged\\x1b[31m"), line);
        }

        ChildRun journal = child(Map.of("JOURNAL_STREAM", "8:123456"), "dev.prospector.agent.logging.LogEveryLevel");
        List<String> journalLines = journal.stderr().lines().toList();
        List<String> prefixes =
                journalLines.subList(0, 5).stream().map(l -> l.substring(0, 3)).toList();
        assertEquals(List.of("<3>", "<4>", "<6>", "<7>", "<7>"), prefixes, journal.stderr());
        assertTrue(journalLines.stream().allMatch(l -> l.matches("<[3467]>.*")), journal.stderr());
        assertTrue(
                journalLines.stream()
                        .noneMatch(l -> TIMESTAMP.matcher(l.substring(3)).lookingAt()),
                journal.stderr());
        assertEquals("<3>ERROR [main] with a trace: java.lang.IllegalStateException: bad\\nthing", journalLines.get(5));
    }

    @Test
    void anUnknownLogLevelIsOneWarningNamingTheValidOnes() throws Exception {
        ChildRun run = child(Map.of("PROSPECTOR_LOG_LEVEL", "verbose"), "dev.prospector.agent.Main", "--version");
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stdout().startsWith("prospector "), run.stdout());
        List<String> lines = run.stderr().lines().toList();
        assertEquals(1, lines.size(), run.stderr());
        assertTrue(lines.get(0).contains("WARN"), lines.get(0));
        assertTrue(
                lines.get(0)
                        .contains(
                                "PROSPECTOR_LOG_LEVEL=verbose is not a log level (trace, debug, info, warn, error, off)"),
                lines.get(0));
        assertTrue(lines.get(0).endsWith("logging at warn"), lines.get(0));
    }

    record ChildRun(int exit, String stdout, String stderr) {}

    /** Runs {@code mainClass} in a child JVM with this class path, the program's tinylog.properties and {@code env}. */
    private ChildRun child(Map<String, String> env, String mainClass, String... args)
            throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command =
                new ArrayList<>(List.of(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "child", ".out");
        Path err = Files.createTempFile(dir, "child", ".err");
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().remove("PROSPECTOR_LOG_LEVEL");
        pb.environment().remove("PROSPECTOR_CONFIG");
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 60 s");
        }
        return new ChildRun(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
