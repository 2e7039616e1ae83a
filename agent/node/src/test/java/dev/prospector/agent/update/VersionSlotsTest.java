package dev.prospector.agent.update;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VersionSlotsTest {
    @TempDir
    Path data;

    private Trial trial(String version) {
        return new Trial("cmd-" + version, "version " + version, version, "packaged", Instant.ofEpochSecond(1000));
    }

    private void installAndActivate(VersionSlots slots, String version) throws Exception {
        slots.install(version, Tars.write(data.resolve(version + ".tar.gz"), Tars.jarSet()));
        slots.activate(version, trial(version));
    }

    @Test
    void theFirstUpdateKeepsThePackagedProgramAsWhatARollbackReturnsTo() throws Exception {
        VersionSlots slots = new VersionSlots(data);
        installAndActivate(slots, "1.1.0");
        assertEquals(Optional.of("1.1.0"), slots.current());
        assertEquals(Optional.empty(), slots.previous());
        assertEquals(Optional.of(trial("1.1.0")), slots.trial());
        assertEquals(
                "1.1.0",
                Files.readSymbolicLink(data.resolve("versions/current")).toString());
        slots.rollback(new Outcome("cmd-1.1.0", false, "did not come up"));
        assertEquals(Optional.empty(), slots.current());
        assertEquals(Optional.empty(), slots.trial());
        assertFalse(Files.exists(data.resolve("versions/1.1.0")), "the failed version is deleted");
        assertEquals(Optional.of(new Outcome("cmd-1.1.0", false, "did not come up")), slots.outcome());
    }

    @Test
    void aConfirmedVersionStaysAndTheNextOneKeepsItAsPrevious() throws Exception {
        VersionSlots slots = new VersionSlots(data);
        installAndActivate(slots, "1.1.0");
        slots.confirm();
        installAndActivate(slots, "1.2.0");
        assertEquals(Optional.of("1.2.0"), slots.current());
        assertEquals(Optional.of("1.1.0"), slots.previous());
        slots.rollback(new Outcome("cmd-1.2.0", false, "x"));
        assertEquals(Optional.of("1.1.0"), slots.current());
        assertEquals(List.of("1.1.0"), slots.installed());
    }

    @Test
    void onlyTwoVersionsAreKept() throws Exception {
        VersionSlots slots = new VersionSlots(data);
        for (String v : List.of("1", "2", "3")) {
            installAndActivate(slots, v);
            slots.confirm();
        }
        assertEquals(List.of("2", "3"), slots.installed());
    }

    @Test
    void theVersionInUseIsNeverOverwritten() throws Exception {
        VersionSlots slots = new VersionSlots(data);
        installAndActivate(slots, "1.1.0");
        Path tgz = Tars.write(data.resolve("again.tar.gz"), Tars.jarSet());
        assertThrows(IllegalStateException.class, () -> slots.install("1.1.0", tgz));
    }

    @Test
    void aBadArchiveLeavesNoHalfInstalledVersion() throws Exception {
        VersionSlots slots = new VersionSlots(data);
        var m = Tars.jarSet();
        m.put("etc/passwd", Tars.JAR);
        Path tgz = Tars.write(data.resolve("bad.tar.gz"), m);
        assertThrows(JarSetArchive.BadArchiveException.class, () -> slots.install("2.0", tgz));
        assertEquals(List.of(), slots.installed());
        try (var s = Files.list(slots.dir())) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".incoming")));
        }
    }

    @Test
    void versionNamesThatArePathsOrReservedAreRefused() {
        for (String bad : List.of("../x", "a/b", "", ".hidden", "current", "lock", "x".repeat(65))) {
            assertThrows(IllegalArgumentException.class, () -> VersionSlots.requireVersion(bad), bad);
        }
        assertEquals("1.2.0-rc1+deb", VersionSlots.requireVersion("1.2.0-rc1+deb"));
    }

    @Test
    void aDamagedTrialFileReadsAsNoTrial() throws Exception {
        VersionSlots slots = new VersionSlots(data);
        installAndActivate(slots, "1.1.0");
        Path t = data.resolve("versions/trial");
        byte[] b = Files.readAllBytes(t);
        b[3] ^= 1;
        Files.write(t, b);
        assertEquals(Optional.empty(), slots.trial());
    }
}
