package dev.prospector.agent.update;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Unpacks a release of the program, a gzip-compressed tar archive holding exactly a jar set:
 * {@code prospector.jar} and {@code lib/*.jar} (what {@code agent/cli/target} holds after
 * {@code mvn package}, and what the Debian package puts in {@code /usr/share/prospector}).
 *
 * <p>The archive came over the network, so nothing in it is trusted beyond its SHA-256 (checked
 * before this runs) and this reader is strict all the same: only regular files and directories,
 * only those names (no {@code ..}, no absolute path, no link, no device), each jar must start like
 * a zip file, at most {@link #MAX_ENTRIES} entries and {@link #MAX_UNPACKED_BYTES} bytes unpacked
 * (a gzip bomb stops there). Plain ustar and GNU tar headers for names under 100 bytes are read;
 * anything else (long names, pax headers, sparse files) is refused with its name.
 */
public final class JarSetArchive {
    /** The program's jar, at the top of the archive. */
    public static final String MAIN_JAR = "prospector.jar";
    /** Most bytes unpacked: the board's jar set is about 15 MiB. */
    public static final long MAX_UNPACKED_BYTES = 256L << 20;
    /** Most entries: the board's jar set has about 30. */
    public static final int MAX_ENTRIES = 512;

    private static final Pattern JAR_NAME = Pattern.compile("lib/[A-Za-z0-9][A-Za-z0-9._+-]{0,95}\\.jar");
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};

    private JarSetArchive() {}

    /** What is wrong with an archive, in one line. */
    public static final class BadArchiveException extends IOException {
        private static final long serialVersionUID = 1L;

        BadArchiveException(String message) {
            super(message);
        }
    }

    /** Unpacks {@code archive} into the empty or absent directory {@code into}; returns the number of jars. */
    public static int unpack(Path archive, Path into) throws IOException {
        Files.createDirectories(into);
        try (InputStream raw = Files.newInputStream(archive);
                InputStream in = new GZIPInputStream(raw, 1 << 16)) {
            return unpack(in, into);
        } catch (java.util.zip.ZipException e) {
            throw new BadArchiveException("not a gzip-compressed tar archive: " + e.getMessage());
        }
    }

    private static int unpack(InputStream in, Path into) throws IOException {
        byte[] header = new byte[512];
        long total = 0;
        int entries = 0;
        int jars = 0;
        Set<String> seen = new HashSet<>();
        while (true) {
            if (!readFully(in, header)) {
                break; // end of stream without the two zero blocks: tolerated (GNU tar writes them)
            }
            if (allZero(header)) {
                break;
            }
            if (++entries > MAX_ENTRIES) {
                throw new BadArchiveException("more than " + MAX_ENTRIES + " entries");
            }
            String magic = new String(header, 257, 5, StandardCharsets.US_ASCII);
            if (!magic.equals("ustar")) {
                throw new BadArchiveException("entry " + entries + " is not a ustar/GNU tar header");
            }
            checkSum(header, entries);
            String name = field(header, 0, 100);
            String prefix = field(header, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
            if (name.startsWith("./")) {
                name = name.substring(2);
            }
            char type = (char) header[156];
            long size = octal(header, 124, 12, name);
            long padded = (size + 511) / 512 * 512;
            if (type == '5') { // a directory
                String dir = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
                if (!dir.isEmpty() && !dir.equals(".") && !dir.equals("lib")) {
                    throw new BadArchiveException("unexpected directory " + safe(name) + ": a release holds " + MAIN_JAR
                            + " and lib/*.jar only");
                }
                skip(in, padded);
                continue;
            }
            if (type != '0' && type != 0) {
                throw new BadArchiveException("entry " + safe(name) + " is not a regular file (type "
                        + (type < ' ' ? Integer.toString(type) : String.valueOf(type)) + ")");
            }
            if (!name.equals(MAIN_JAR) && !JAR_NAME.matcher(name).matches()) {
                throw new BadArchiveException(
                        "unexpected file " + safe(name) + ": a release holds " + MAIN_JAR + " and lib/*.jar only");
            }
            if (!seen.add(name)) {
                throw new BadArchiveException("file " + name + " appears twice");
            }
            total += size;
            if (size < 0 || total > MAX_UNPACKED_BYTES) {
                throw new BadArchiveException("unpacks to more than " + MAX_UNPACKED_BYTES + " bytes");
            }
            Path target = into.resolve(name);
            Files.createDirectories(target.getParent());
            try (OutputStream out = Files.newOutputStream(target)) {
                byte[] start = copy(in, out, size);
                if (size < 4 || !java.util.Arrays.equals(start, ZIP_MAGIC)) {
                    throw new BadArchiveException(name + " is not a jar (zip) file");
                }
            }
            skip(in, padded - size);
            jars++;
        }
        if (!seen.contains(MAIN_JAR)) {
            throw new BadArchiveException("no " + MAIN_JAR + " at the top of the archive");
        }
        return jars;
    }

    /** Copies {@code size} bytes; returns the first four. */
    private static byte[] copy(InputStream in, OutputStream out, long size) throws IOException {
        byte[] buf = new byte[1 << 16];
        byte[] start = new byte[4];
        long done = 0;
        while (done < size) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, size - done));
            if (n < 0) {
                throw new BadArchiveException("archive ends inside a file");
            }
            for (int i = 0; i < n && done + i < 4; i++) {
                start[(int) done + i] = buf[i];
            }
            out.write(buf, 0, n);
            done += n;
        }
        return start;
    }

    private static void skip(InputStream in, long n) throws IOException {
        long left = n;
        while (left > 0) {
            long s = in.skip(left);
            if (s <= 0) {
                if (in.read() < 0) {
                    throw new BadArchiveException("archive ends inside an entry");
                }
                s = 1;
            }
            left -= s;
        }
    }

    private static boolean readFully(InputStream in, byte[] b) throws IOException {
        int off = 0;
        while (off < b.length) {
            int n = in.read(b, off, b.length - off);
            if (n < 0) {
                if (off == 0) {
                    return false;
                }
                throw new EOFException("archive ends inside a header");
            }
            off += n;
        }
        return true;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static void checkSum(byte[] h, int entry) throws BadArchiveException {
        long want;
        try {
            want = octal(h, 148, 8, "entry " + entry);
        } catch (BadArchiveException e) {
            throw new BadArchiveException("entry " + entry + " has a damaged header checksum");
        }
        long sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        if (sum != want) {
            throw new BadArchiveException("entry " + entry + " has a damaged header (checksum)");
        }
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] h, int off, int len, String what) throws BadArchiveException {
        String s = field(h, off, len).trim();
        if (s.isEmpty() || !s.matches("[0-7]{1,12}")) {
            throw new BadArchiveException(safe(what) + ": bad number in its header");
        }
        return Long.parseLong(s, 8);
    }

    /** A name from the archive, printable and short, for a message. */
    static String safe(String s) {
        String t = s.replaceAll("[^\\x20-\\x7e]", "?");
        return t.length() > 80 ? t.substring(0, 80) + "…" : t;
    }
}
