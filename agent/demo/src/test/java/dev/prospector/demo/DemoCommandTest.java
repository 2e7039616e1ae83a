package dev.prospector.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ProspectorCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What {@code prospector demo} says before it starts anything; the demo itself: {@link DemoCommandIT}. */
class DemoCommandTest {
    @Test
    void tooShortDurationsAreOneLineWrittenAsTheUserWroteThem() {
        assertOneLineError(
                new String[] {"demo", "--duration", "500ms"}, "--duration 500ms is too short: use at least 1s");
        assertOneLineError(new String[] {"demo", "--interval", "0s"}, "--interval 0s is too short: use at least 100ms");
    }

    @Test
    void theDemoHasHelpWhenItsJarIsOnTheClassPath() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                new String[] {"demo", "--help"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, exit);
        assertTrue(
                out.toString(StandardCharsets.UTF_8).contains("Usage: prospector demo"),
                out.toString(StandardCharsets.UTF_8));
    }

    private static void assertOneLineError(String[] args, String mustMention) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                args,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, exit, text);
        assertEquals(1, text.lines().filter(l -> !l.isBlank()).count(), text);
        assertTrue(text.contains(mustMention), text);
    }
}
