package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.update.ConfigStore;
import dev.prospector.agent.update.Trial;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pushed configuration layer: flags > pushed > file > defaults, and the push's validator. */
class PushedConfigLayerTest {
    @TempDir
    Path dir;

    private Path file() throws Exception {
        dev.prospector.attest.OperatorKey.generate().write(dir.resolve("admin"));
        Path admin = dir.resolve("admin").resolve(dev.prospector.attest.OperatorKey.PUBLIC_KEY_FILE);
        return Files.writeString(
                dir.resolve("prospector.conf"),
                "broker = tcp://127.0.0.1:1883\nfleet = lab\ninterval = 30s\nreceipt-timeout = 40s\noperator-key = "
                        + admin + ":admin\n");
    }

    private RunCommand run(String... args) {
        var parsed = ProspectorCommand.parseAgain(args);
        return (RunCommand) parsed.subcommand().commandSpec().userObject();
    }

    @Test
    void thePushedLayerWinsOverTheFileAndFlagsWinOverBoth() throws Exception {
        Path conf = file();
        Path data = dir.resolve("data");
        new ConfigStore(data).stage("interval = 5s\n", new Trial("c", "x", "", "", Instant.now()));
        RunCommand r = run("run", "--config", conf.toString(), "--data-dir", data.toString());
        assertEquals(Duration.ofSeconds(5), r.interval, "pushed over file");
        assertEquals(Duration.ofSeconds(40), r.receiptTimeout, "file where nothing was pushed");
        RunCommand flagged = run("run", "--config", conf.toString(), "--data-dir", data.toString(), "--interval", "7s");
        assertEquals(Duration.ofSeconds(7), flagged.interval, "flag over pushed");
    }

    @Test
    void otherCommandsDoNotReadThePushedLayer() throws Exception {
        Path data = dir.resolve("data");
        new ConfigStore(data).stage("interval = 5s\n", new Trial("c", "x", "", "", Instant.now()));
        assertTrue(ConfigFile.find(new String[] {"report", "--data-dir", data.toString()})
                .isEmpty());
        assertTrue(ConfigFile.find(new String[] {"run", "--data-dir", data.toString()})
                .orElseThrow()
                .pushed()
                .isPresent());
    }

    @Test
    void theValidatorNamesWhatIsWrongAndAcceptsAGoodPush() throws Exception {
        Path conf = file();
        String[] args = {
            "run",
            "--config",
            conf.toString(),
            "--data-dir",
            dir.resolve("data").toString()
        };
        var v = new PushedConfigValidator(args);
        assertEquals(List.of(), v.problems("interval = 10s\n"));
        for (String bad : List.of(
                "intreval = 5s",
                "interval = soon",
                "broker = mqtt://",
                "fleet = a/b",
                "data-dir = /x",
                "verifier-key = /nonexistent.pub",
                "operator-key =")) {
            List<String> p = v.problems(bad);
            System.out.println("pushed `" + bad + "`: " + p);
            assertTrue(!p.isEmpty(), bad);
        }
    }
}
