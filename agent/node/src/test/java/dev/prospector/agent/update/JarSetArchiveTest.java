package dev.prospector.agent.update;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JarSetArchiveTest {
    @TempDir
    Path dir;

    @Test
    void aJarSetUnpacksIntoItsFolder() throws Exception {
        Path tgz = Tars.write(dir.resolve("a.tar.gz"), Tars.jarSet());
        assertEquals(2, JarSetArchive.unpack(tgz, dir.resolve("out")));
        assertArrayEquals(Tars.JAR, Files.readAllBytes(dir.resolve("out/prospector.jar")));
        assertArrayEquals(Tars.JAR, Files.readAllBytes(dir.resolve("out/lib/a-1.0.jar")));
    }

    @Test
    void aPathThatClimbsOutIsRefusedAndNothingLandsOutside() throws Exception {
        Map<String, byte[]> m = Tars.jarSet();
        m.put("lib/../../evil.jar", Tars.JAR);
        Path tgz = Tars.write(dir.resolve("a.tar.gz"), m);
        var e = assertThrows(
                JarSetArchive.BadArchiveException.class, () -> JarSetArchive.unpack(tgz, dir.resolve("out")));
        System.out.println("tried lib/../../evil.jar: " + e.getMessage());
        assertTrue(e.getMessage().contains("unexpected file"));
        assertFalse(Files.exists(dir.resolve("evil.jar")));
    }

    @Test
    void aSymbolicLinkIsRefused() throws Exception {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("prospector.jar", new byte[0]);
        Path tgz = Tars.write(dir.resolve("a.tar.gz"), m, '2');
        var e = assertThrows(
                JarSetArchive.BadArchiveException.class, () -> JarSetArchive.unpack(tgz, dir.resolve("out")));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    @Test
    void aFileThatIsNotAJarIsRefused() throws Exception {
        Map<String, byte[]> m = Tars.jarSet();
        m.put("lib/b.jar", "#!/bin/sh\nrm -rf /\n".getBytes());
        Path tgz = Tars.write(dir.resolve("a.tar.gz"), m);
        var e = assertThrows(
                JarSetArchive.BadArchiveException.class, () -> JarSetArchive.unpack(tgz, dir.resolve("out")));
        assertTrue(e.getMessage().contains("not a jar"), e.getMessage());
    }

    @Test
    void anArchiveWithoutTheProgramsJarIsRefused() throws Exception {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("lib/a.jar", Tars.JAR);
        Path tgz = Tars.write(dir.resolve("a.tar.gz"), m);
        var e = assertThrows(
                JarSetArchive.BadArchiveException.class, () -> JarSetArchive.unpack(tgz, dir.resolve("out")));
        assertTrue(e.getMessage().contains("no prospector.jar"), e.getMessage());
    }

    @Test
    void garbageIsRefusedWithOneLine() throws Exception {
        Path f = dir.resolve("g.tar.gz");
        Files.write(f, "this is no archive".getBytes());
        var e = assertThrows(java.io.IOException.class, () -> JarSetArchive.unpack(f, dir.resolve("out")));
        assertTrue(e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void aDamagedHeaderIsRefused() throws Exception {
        byte[] h = Tars.header("prospector.jar", 7, '0');
        h[0] = 'q'; // the checksum no longer matches
        Path f = dir.resolve("d.tar.gz");
        try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(f))) {
            gz.write(h);
            gz.write(new byte[1536]);
        }
        var e = assertThrows(
                JarSetArchive.BadArchiveException.class, () -> JarSetArchive.unpack(f, dir.resolve("out")));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }
}
