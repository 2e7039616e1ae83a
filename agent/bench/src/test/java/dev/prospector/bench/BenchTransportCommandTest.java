package dev.prospector.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.common.Failure;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchTransportCommandTest {
    @Test
    void aMissingMosquittoIsOneClearLine() {
        var command = new BenchTransportCommand();
        var cli = new CommandLine(command);
        cli.parseArgs("--mosquitto", "/nonexistent/mosquitto", "--runs", "1");
        var e = assertThrows(Failure.class, command::call);
        assertTrue(
                e.getMessage().contains("/nonexistent/mosquitto")
                        && e.getMessage().contains("--broker"),
                e.getMessage());
    }

    @Test
    void aMissingLauncherIsOneClearLine() {
        var e = assertThrows(
                Failure.class, () -> BenchTransportCommand.Memory.findLauncher(Path.of("/nonexistent/prospector")));
        assertTrue(e.getMessage().contains("/nonexistent/prospector"), e.getMessage());
    }

    @Test
    void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        assertEquals(2.5, BenchTransportCommand.median(java.util.stream.DoubleStream.of(4, 1, 3, 2)));
        assertEquals(3.0, BenchTransportCommand.median(java.util.stream.DoubleStream.of(5, 3, 1)));
    }
}
