package dev.prospector.agent.update;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Builds tar.gz archives for the tests, including malformed ones. */
final class Tars {
    /** Starts like a zip file, as a jar does. */
    static final byte[] JAR = {'P', 'K', 3, 4, 1, 2, 3};

    private Tars() {}

    static Map<String, byte[]> jarSet() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("prospector.jar", JAR);
        m.put("lib/", new byte[0]);
        m.put("lib/a-1.0.jar", JAR);
        return m;
    }

    static Path write(Path file, Map<String, byte[]> entries, char... types) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        for (var e : entries.entrySet()) {
            boolean dir = e.getKey().endsWith("/");
            char type = i < types.length ? types[i] : dir ? '5' : '0';
            i++;
            out.write(header(e.getKey(), dir ? 0 : e.getValue().length, type));
            if (!dir) {
                out.write(e.getValue());
                out.write(new byte[(512 - e.getValue().length % 512) % 512]);
            }
        }
        out.write(new byte[1024]);
        try (var gz = new GZIPOutputStream(Files.newOutputStream(file))) {
            gz.write(out.toByteArray());
        }
        return file;
    }

    static byte[] header(String name, long size, char type) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, Math.min(n.length, 100));
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", size));
        put(h, 136, "00000000000");
        h[156] = (byte) type;
        put(h, 257, "ustar");
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        return h;
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }
}
