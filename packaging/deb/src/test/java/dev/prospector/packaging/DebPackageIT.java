package dev.prospector.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.prospector.agent.testing.FleetArchives;
import dev.prospector.hardware.HardwareSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian packages that build-deb.sh made in this module's package phase: their files, control
 * fields and conffile, the conffile against {@code prospector run}'s options, and the board's class
 * path run from the unpacked package (dpkg-deb and java are processes: an integration test).
 */
class DebPackageIT {
    private static final Path DIR = Path.of(System.getProperty("deb.dir", "target"));
    private static final Path REPO = Path.of(System.getProperty("repo.root", "../.."));
    /** The Debian version of the project's: a hyphen becomes a tilde (0.2.0~SNAPSHOT sorts before 0.2.0). */
    private static final String PROJECT_VERSION = System.getProperty("deb.version", "0.1.0");

    private static final String VERSION = PROJECT_VERSION.replace('-', '~');
    private static final Path BOARD = DIR.resolve("prospector_" + VERSION + "_all.deb");
    private static final Path NETWORK = DIR.resolve("prospector-network_" + VERSION + "_all.deb");
    private static final Pattern NOT_ON_A_BOARD =
            Pattern.compile("hivemq|bench|jmh|demo|testkit|junit|jqwik|awaitility|archunit|prospector-agent-network");

    @TempDir
    static Path tmp;

    private static Path board;
    private static Path network;

    record Result(int exit, String out, String err) {}

    @BeforeAll
    static void unpack() throws Exception {
        boolean dpkg = run(List.of("sh", "-c", "command -v dpkg-deb")).exit() == 0;
        assumeTrue(dpkg || "true".equals(System.getenv("CI")), "no dpkg-deb: build-deb.sh built no package");
        assertTrue(Files.isRegularFile(BOARD), BOARD + " was not built");
        assertTrue(Files.isRegularFile(NETWORK), NETWORK + " was not built");
        board = tmp.resolve("board");
        network = tmp.resolve("network");
        assertEquals(
                0,
                run(List.of("dpkg-deb", "-x", BOARD.toString(), board.toString()))
                        .exit());
        assertEquals(
                0,
                run(List.of("dpkg-deb", "-x", NETWORK.toString(), network.toString()))
                        .exit());
    }

    @Test
    void theBoardPackageHasTheLauncherTheJarsTheUnitAndTheConffileOwnedByRoot() throws Exception {
        List<String> listing = contents(BOARD);
        assertListed(listing, "-rwxr-xr-x root/root", "./usr/bin/prospector");
        assertListed(listing, "-rw-r--r-- root/root", "./usr/share/prospector/prospector.jar");
        assertListed(listing, "-rw-r--r-- root/root", "./lib/systemd/system/prospector.service");
        assertListed(listing, "-rw-r--r-- root/root", "./etc/prospector/prospector.conf");
        assertListed(listing, "-rw-r--r-- root/root", "./usr/share/doc/prospector/copyright");
        assertListed(listing, "-rw-r--r-- root/root", "./usr/share/doc/prospector/OPERATIONS.md");
        assertListed(listing, "-rw-r--r-- root/root", "./usr/share/man/man1/prospector.1.gz");
        for (String jar : List.of(
                "prospector-agent-node-",
                "prospector-agent-transport-",
                "prospector-agent-common-",
                "prospector-attest-",
                "prospector-hardware-",
                "prospector-ledger-",
                "picocli-",
                "org.eclipse.paho.mqttv5.client-",
                "bcprov-jdk18on-",
                "jna-",
                "pi4j-core-",
                "tinylog-impl-")) {
            assertTrue(
                    listing.stream().anyMatch(l -> l.contains("./usr/share/prospector/lib/" + jar)),
                    () -> jar + "*.jar missing:\n" + String.join("\n", listing));
        }
        List<String> jars = listing.stream()
                .filter(l -> l.endsWith(".jar"))
                .map(l -> l.replaceAll(".* \\./", "/"))
                .toList();
        for (String jar : jars) {
            assertTrue(jar.startsWith("/usr/share/prospector/"), jar + ": a jar outside /usr/share/prospector");
            assertFalse(NOT_ON_A_BOARD.matcher(jar).find(), jar + ": not for a board");
        }
        assertFalse(listing.stream().anyMatch(l -> l.contains("/var/lib/prospector")), "no state in the package");
        assertFalse(listing.stream().anyMatch(l -> l.contains(".key")), "no key in the package");
        // The unit is systemd/'s, unchanged.
        assertEquals(
                Files.readString(REPO.resolve("systemd/prospector.service")),
                Files.readString(board.resolve("lib/systemd/system/prospector.service")));
    }

    @Test
    void controlFieldsAndConffiles() throws Exception {
        assertEquals("prospector", field(BOARD, "Package"));
        assertEquals(VERSION, field(BOARD, "Version"));
        assertEquals("all", field(BOARD, "Architecture"));
        assertEquals("default-jre-headless (>= 2:1.17) | java17-runtime-headless, adduser", field(BOARD, "Depends"));
        assertEquals(
                "/etc/prospector/prospector.conf", control(BOARD, "conffiles").strip());
        for (String script : List.of("postinst", "prerm", "postrm")) {
            assertEquals(
                    0, run(List.of("dpkg-deb", "-I", BOARD.toString(), script)).exit(), script);
        }
        assertTrue(control(BOARD, "postinst").contains("adduser --system --group"), "the user is made");

        assertEquals("prospector-network", field(NETWORK, "Package"));
        assertEquals(VERSION, field(NETWORK, "Version"));
        assertEquals("all", field(NETWORK, "Architecture"));
        assertEquals("prospector (= " + VERSION + ")", field(NETWORK, "Depends"));
        List<String> listing = contents(NETWORK);
        assertListed(listing, "-rw-r--r-- root/root", "./usr/share/prospector/lib/prospector-agent-network-");
        assertListed(listing, "-rw-r--r-- root/root", "./lib/systemd/system/prospector-verifier.service");
        assertEquals(1, listing.stream().filter(l -> l.endsWith(".jar")).count(), "the network jar only: " + listing);
    }

    /** Every setting of `prospector run` and every hardware.* key is in the conffile, commented. */
    @Test
    void theConffileListsEverySettingOfRunCommentedOut() throws Exception {
        String conf = Files.readString(board.resolve("etc/prospector/prospector.conf"));
        for (String line : conf.lines().toList()) {
            assertTrue(line.isBlank() || line.startsWith("#"), () -> "a setting that is not commented out: " + line);
        }
        Result help = java(board, "run", "--help");
        assertEquals(0, help.exit(), help.err());
        Set<String> keys = new TreeSet<>();
        Matcher m = Pattern.compile("--([a-z][a-z-]+)").matcher(help.out());
        while (m.find()) {
            keys.add(m.group(1));
        }
        keys.removeAll(Set.of("help", "version", "config"));
        assertTrue(keys.containsAll(Set.of("broker", "fleet", "data-dir", "interval", "verifier-key")), keys::toString);
        keys.addAll(HardwareSettings.KEYS);
        for (String key : keys) {
            assertTrue(
                    Pattern.compile("(?m)^#" + Pattern.quote(key) + " = \\S")
                            .matcher(conf)
                            .find(),
                    () -> "#" + key + " = ... missing in prospector.conf");
        }
    }

    /** The installed launcher picks the JVM options the source tree's launcher picks. */
    @Test
    void theLaunchersPickTheSameJvmOptions() throws Exception {
        List<String> installed = defaults(board.resolve("usr/bin/prospector"));
        // The board heap's line, then the network side's, the fleet console's and the board's options.
        assertEquals(4, installed.size(), installed::toString);
        assertEquals(defaults(REPO.resolve("prospector")), installed);
        assertTrue(
                Files.readString(board.resolve("usr/bin/prospector"))
                                .contains("classpath=\"$share/prospector.jar:$share/lib/*\"")
                        && Files.readString(board.resolve("usr/bin/prospector"))
                                .contains("-cp \"$classpath\" dev.prospector.agent.Main \"$@\""),
                "the installed class path");
    }

    /**
     * The class-data sharing archive: postinst makes it with the installed launcher's
     * {@code cds-archive} (which works from the unpacked package: here with its share directory
     * pointed there and the archive in a temporary file), {@code run} maps it, postrm removes it.
     */
    @Test
    void postinstMakesTheClassDataSharingArchiveThatRunUses() throws Exception {
        assertTrue(control(BOARD, "postinst").contains("prospector cds-archive"), "postinst makes the archive");
        assertTrue(control(BOARD, "postrm").contains("rm -f /var/cache/prospector/run.jsa"), "postrm removes it");
        String launcher = Files.readString(board.resolve("usr/bin/prospector"));
        assertTrue(launcher.contains("cds=\"${PROSPECTOR_CDS_ARCHIVE:-/var/cache/prospector/run.jsa}\""), "where");
        Path here = unpackedLauncher();
        Path archive = tmp.resolve("cache/run.jsa");
        Result made = run(List.of("env", "PROSPECTOR_CDS_ARCHIVE=" + archive, "sh", here.toString(), "cds-archive"));
        assertEquals(0, made.exit(), made.err());
        assertTrue(Files.size(archive) > 1_000_000, "archive of " + Files.size(archive) + " bytes");
        // `run` maps it: with -Xshare:on the JVM refuses to start on an archive it cannot use.
        Result help = run(List.of(
                "env",
                "PROSPECTOR_CDS_ARCHIVE=" + archive,
                "JAVA_TOOL_OPTIONS=-Xshare:on -Xlog:cds=warning",
                "sh",
                here.toString(),
                "run",
                "--help"));
        assertEquals(0, help.exit(), help.err());
        assertTrue(help.out().contains("Usage: prospector run"), help.out());
        assertFalse((help.out() + help.err()).contains("[warning][cds"), help.out() + help.err());
    }

    /** The installed launcher, its share directory pointed at the unpacked package. */
    private static Path unpackedLauncher() throws IOException {
        String launcher = Files.readString(board.resolve("usr/bin/prospector"));
        assertTrue(launcher.contains("share=/usr/share/prospector\n"), "the share directory line");
        Path here = tmp.resolve("launcher");
        Files.writeString(
                here,
                launcher.replace(
                        "share=/usr/share/prospector\n", "share=" + board.resolve("usr/share/prospector") + "\n"));
        return here;
    }

    /**
     * The fleet console's class-data sharing archive, as the source tree's launcher makes it
     * ({@code FleetLauncherIT}): the installed launcher's first {@code fleet list} writes one into
     * the user's cache (mode 0700), the next maps it ({@code -Xshare:on}: the JVM refuses to start
     * on an archive it cannot map) without writing another, and a cache directory that others may
     * write to gets none.
     */
    @Test
    void fleetListArchivesItsClassesInTheUsersCacheAndMapsThemNextTime() throws Exception {
        Path here = unpackedLauncher();
        Path cache = tmp.resolve("xdg-cache");
        List<String> list = List.of("env", "XDG_CACHE_HOME=" + cache, "sh", here.toString(), "fleet", "list", "--help");
        Result first = run(list);
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("Usage: prospector fleet list"), first.out());
        List<Path> made = FleetArchives.in(cache);
        System.out.println("fleet list's class-data archive after the first run: " + made);
        assertEquals(1, made.size(), "one archive: " + made);
        assertTrue(made.get(0).getFileName().toString().startsWith("fleet-"), made.toString());
        assertTrue(Files.size(made.get(0)) > 100_000, "archive of " + Files.size(made.get(0)) + " bytes");
        assertEquals(
                Set.of(
                        PosixFilePermission.OWNER_READ,
                        PosixFilePermission.OWNER_WRITE,
                        PosixFilePermission.OWNER_EXECUTE),
                Files.getPosixFilePermissions(cache.resolve("prospector")));
        var written = Files.getLastModifiedTime(made.get(0));

        List<String> mapped = new ArrayList<>(List.of("env", "JAVA_TOOL_OPTIONS=-Xshare:on"));
        mapped.addAll(list.subList(1, list.size()));
        Result second = run(mapped);
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("Usage: prospector fleet list"), second.out());
        assertEquals(made, FleetArchives.in(cache), "the archive is reused, not written again");
        assertEquals(written, Files.getLastModifiedTime(made.get(0)));

        Files.delete(made.get(0));
        Files.setPosixFilePermissions(cache.resolve("prospector"), PosixFilePermissions.fromString("rwxrwxrwx"));
        Result open = run(list);
        assertEquals(0, open.exit(), open.err());
        assertEquals(List.of(), FleetArchives.in(cache), "no archive written into a directory others may write to");
    }

    /** The board's class path runs; verifier and measure come with prospector-network's jar only. */
    @Test
    void theBoardRunsWithoutTheNetworkSideAndTheNetworkPackageAddsIt() throws Exception {
        Result version = java(board, "--version");
        assertEquals(0, version.exit(), version.err());
        assertTrue(version.out().contains(PROJECT_VERSION), version.out());
        Result hardware = java(board, "hardware", "--board", "emulated", "--data-dir", tmp.toString());
        assertEquals(0, hardware.exit(), hardware.err());

        Result verifier = java(board, "verifier", "--broker", "tcp://127.0.0.1:1", "--fleet", "f");
        assertEquals(2, verifier.exit(), verifier.err());
        assertEquals(1, verifier.err().lines().count(), verifier.err());
        assertTrue(verifier.err().contains("install the prospector-network package"), verifier.err());

        // Both packages installed: the network jar joins lib/.
        try (Stream<Path> jars = Files.list(network.resolve("usr/share/prospector/lib"))) {
            for (Path jar : jars.toList()) {
                Files.copy(jar, board.resolve("usr/share/prospector/lib").resolve(jar.getFileName()));
            }
        }
        Result withNetwork = java(board, "verifier", "--help");
        assertEquals(0, withNetwork.exit(), withNetwork.err());
        assertTrue(withNetwork.out().contains("--state-dir"), withNetwork.out());
    }

    /**
     * lintian: no error, and no warning beyond the accepted ones that packaging/deb/README.md lists
     * with their reasons (CI=true: lintian must be there; .ci/run installs it).
     */
    @Test
    void lintianFindsNoErrorAndOnlyTheAcceptedWarnings() throws Exception {
        assumeTool("lintian");
        Result r = run(List.of("lintian", "--pedantic", BOARD.toString(), NETWORK.toString()));
        List<String> tags = r.out().lines().filter(l -> l.matches("[EW]: .*")).toList();
        for (String tag : tags) {
            assertTrue(
                    tag.startsWith("W: prospector: classpath-contains-relative-path lib/"),
                    () -> "not accepted (packaging/deb/README.md lists the accepted ones):\n" + r.out());
        }
        assertEquals(0, r.exit(), r.out() + r.err());
    }

    /**
     * systemd-analyze verify accepts both units as installed: in a root with the packages' files, the
     * host's own units (sysinit.target and the like) and /bin/kill (ExecReload=); no output at all,
     * as an unknown setting is only a message (CI=true: systemd-analyze must be there).
     */
    @Test
    void systemdAnalyzeVerifiesTheInstalledUnits() throws Exception {
        assumeTool("systemd-analyze");
        Path root = tmp.resolve("verify-root");
        for (Path deb : List.of(BOARD, NETWORK)) {
            assertEquals(
                    0,
                    run(List.of("dpkg-deb", "-x", deb.toString(), root.toString()))
                            .exit(),
                    deb::toString);
        }
        Path units = Files.createDirectories(root.resolve("lib/systemd/system"));
        for (String unitDir : List.of("/lib/systemd/system", "/usr/lib/systemd/system")) {
            if (Files.isDirectory(Path.of(unitDir))) {
                assertEquals(
                        0,
                        run(List.of("cp", "-an", unitDir + "/.", units.toString()))
                                .exit());
            }
        }
        Files.createDirectories(root.resolve("bin"));
        Files.copy(Path.of("/bin/kill"), root.resolve("bin/kill"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Result r = run(List.of(
                "systemd-analyze", "verify", "--root=" + root, "prospector.service", "prospector-verifier.service"));
        // The host's masked units link to /dev/null, which JUnit's clean-up would warn about.
        run(List.of("rm", "-rf", root.toString()));
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("", r.out() + r.err(), "systemd-analyze verify says something");
    }

    private static void assumeTool(String tool) throws Exception {
        boolean present = run(List.of("sh", "-c", "command -v " + tool)).exit() == 0;
        assertTrue(present || !"true".equals(System.getenv("CI")), tool + " is missing (CI=true)");
        assumeTrue(present, tool + " is not installed");
    }

    private static List<String> defaults(Path launcher) throws IOException {
        return Files.readString(launcher)
                .lines()
                .filter(l -> l.contains("defaults=\"") || l.contains("board_heap=\""))
                .map(String::strip)
                .toList();
    }

    private static void assertListed(List<String> listing, String modeOwner, String path) {
        assertTrue(
                listing.stream().anyMatch(l -> l.startsWith(modeOwner) && l.contains(" " + path)),
                () -> modeOwner + " " + path + " missing:\n" + String.join("\n", listing));
    }

    private static List<String> contents(Path deb) throws Exception {
        Result r = run(List.of("dpkg-deb", "-c", deb.toString()));
        assertEquals(0, r.exit(), r.err());
        return r.out().lines().toList();
    }

    private static String field(Path deb, String name) throws Exception {
        Result r = run(List.of("dpkg-deb", "-f", deb.toString(), name));
        assertEquals(0, r.exit(), r.err());
        return r.out().strip();
    }

    private static String control(Path deb, String file) throws Exception {
        Result r = run(List.of("dpkg-deb", "-I", deb.toString(), file));
        assertEquals(0, r.exit(), r.err());
        return r.out();
    }

    /** The program from an unpacked package root, with the class path the installed launcher gives. */
    private static Result java(Path root, String... args) throws Exception {
        Path share = root.resolve("usr/share/prospector");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                share.resolve("prospector.jar") + ":" + share.resolve("lib") + "/*",
                "dev.prospector.agent.Main"));
        command.addAll(List.of(args));
        return run(command);
    }

    private static Result run(List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("PROSPECTOR_CONFIG");
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not end within 60 s");
        }
        return new Result(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
