import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Build step of agent/cli (run by the JDK's source launcher from its pom, after the runtime jars
 * are copied to target/lib): rewrites every signed jar there without its signature.
 *
 * <p>Why: the JVM keeps a signed jar's manifest, one section with a digest per class (about 6,000
 * for bcprov, 835 KB of text), and a code-signer table for every entry on the heap for as long as
 * the jar is on the class path. For Bouncy Castle and Paho that is about 9 MB resident of a board
 * agent that must fit in 64 MB (docs/BENCHMARKS.md, resident memory). OpenJDK does not require
 * signed crypto providers, and the jars come from Maven Central by their checksums, not by these
 * signatures. The rewritten jar holds the same entries in the same order, with their times, minus
 * {@code META-INF/*.SF|RSA|DSA|EC} and the manifest's per-entry sections; its main section stays.
 *
 * <p>Usage: {@code java UnsignJars.java DIR}. Prints one line per jar it rewrote.
 */
public final class UnsignJars {
    private UnsignJars() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java UnsignJars.java DIR");
            System.exit(2);
        }
        List<Path> jars;
        try (Stream<Path> s = Files.list(Path.of(args[0]))) {
            jars = s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
        for (Path jar : jars) {
            if (signed(jar)) {
                unsign(jar);
                System.out.println("unsigned " + jar.getFileName() + " (its signature costs heap on a board)");
            }
        }
    }

    private static boolean isSignature(String name) {
        String upper = name.toUpperCase(java.util.Locale.ROOT);
        return upper.startsWith("META-INF/")
                && upper.indexOf('/', "META-INF/".length()) < 0
                && (upper.endsWith(".SF") || upper.endsWith(".RSA") || upper.endsWith(".DSA") || upper.endsWith(".EC"));
    }

    private static boolean signed(Path jar) throws IOException {
        try (ZipFile z = new ZipFile(jar.toFile())) {
            return z.stream().anyMatch(e -> isSignature(e.getName()));
        }
    }

    private static void unsign(Path jar) throws IOException {
        Path tmp = jar.resolveSibling(jar.getFileName() + ".tmp");
        try (ZipFile in = new ZipFile(jar.toFile());
                OutputStream file = Files.newOutputStream(tmp);
                ZipOutputStream out = new ZipOutputStream(file)) {
            List<ZipEntry> entries = new ArrayList<>();
            for (Enumeration<? extends ZipEntry> e = in.entries(); e.hasMoreElements(); ) {
                entries.add(e.nextElement());
            }
            for (ZipEntry e : entries) {
                if (isSignature(e.getName())) {
                    continue;
                }
                ZipEntry copy = new ZipEntry(e.getName());
                copy.setTime(e.getTime());
                out.putNextEntry(copy);
                if (e.getName().equalsIgnoreCase(JarFile.MANIFEST_NAME)) {
                    Manifest m;
                    try (InputStream s = in.getInputStream(e)) {
                        m = new Manifest(s);
                    }
                    Manifest main = new Manifest();
                    main.getMainAttributes().putAll(m.getMainAttributes());
                    if (main.getMainAttributes().getValue(Attributes.Name.MANIFEST_VERSION) == null) {
                        main.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
                    }
                    main.write(out);
                } else {
                    try (InputStream s = in.getInputStream(e)) {
                        s.transferTo(out);
                    }
                }
                out.closeEntry();
            }
        }
        Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING);
    }
}
