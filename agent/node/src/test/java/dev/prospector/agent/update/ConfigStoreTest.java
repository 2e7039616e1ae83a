package dev.prospector.agent.update;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigStoreTest {
    @TempDir
    Path data;

    private static Trial trial(String id) {
        return new Trial(id, "config", "", "", Instant.ofEpochSecond(100));
    }

    @Test
    void aPushOnTrialKeepsWhatItReplacedAndARollbackPutsItBack() throws Exception {
        ConfigStore store = new ConfigStore(data);
        store.stage("interval = 5s\n", trial("a"));
        store.confirm();
        store.stage("broker = tcp://127.0.0.1:1\n", trial("b"));
        assertEquals(Optional.of("broker = tcp://127.0.0.1:1\n"), store.current());
        assertEquals(Optional.of(trial("b")), store.trial());
        store.rollback(new Outcome("b", false, "no broker"));
        assertEquals(Optional.of("interval = 5s\n"), store.current());
        assertEquals(Optional.empty(), store.trial());
        assertEquals(Optional.of(new Outcome("b", false, "no broker")), store.outcome());
        assertEquals("interval = 5s\n", ConfigStore.layer(data).orElseThrow().text());
    }

    @Test
    void rollingBackTheFirstPushLeavesNoPushedLayer() throws Exception {
        ConfigStore store = new ConfigStore(data);
        store.stage("interval = 5s", trial("a"));
        store.rollback(new Outcome("a", false, "x"));
        assertEquals(Optional.empty(), ConfigStore.layer(data));
    }

    @Test
    void aDamagedCurrentFileFallsBackToThePreviousOne() throws Exception {
        ConfigStore store = new ConfigStore(data);
        store.stage("interval = 5s\n", trial("a"));
        store.confirm();
        store.stage("interval = 7s\n", trial("b"));
        store.confirm();
        Path current = data.resolve("config/current.conf");
        Files.writeString(current, Files.readString(current).replace("7s", "9s"));
        var layer = ConfigStore.layer(data).orElseThrow();
        System.out.println("damaged current.conf: read " + layer.file().getFileName() + " instead");
        assertEquals("interval = 5s\n", layer.text());
    }

    @Test
    void aSecondPushWhileOneIsOnTrialIsRefused() throws Exception {
        ConfigStore store = new ConfigStore(data);
        store.stage("interval = 5s\n", trial("a"));
        assertThrows(IllegalStateException.class, () -> store.stage("interval = 6s\n", trial("b")));
        assertEquals(Optional.of("interval = 5s\n"), store.current());
    }

    @Test
    void anOversizedPushChangesNothing() {
        ConfigStore store = new ConfigStore(data);
        assertThrows(
                IllegalArgumentException.class,
                () -> store.stage("x".repeat(ConfigStore.MAX_CONFIG_BYTES + 1), trial("a")));
        assertTrue(ConfigStore.layer(data).isEmpty());
    }
}
