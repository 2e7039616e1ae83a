package dev.prospector.agent.update;

import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * A small state file of {@code key=value} lines closed by a {@code sha256=} line over everything
 * before it: the trial and outcome markers of configuration pushes and updates. Written by
 * {@link AtomicFiles} (old or new content after a crash, never a mixture); a file whose checksum
 * does not match (a torn write on a file system without atomic rename, a bad SD card sector) reads
 * as absent and is logged, so corruption never turns into a wrong decision, only into none.
 */
final class StateFile {
    /** Larger than any marker we write: a bigger file is damaged. */
    static final int MAX_BYTES = 8 * 1024;

    private static final Pattern KEY = Pattern.compile("[a-z][a-z0-9-]{0,31}");

    private StateFile() {}

    /** Writes {@code values} (keys lower-case words; values on one line, newlines become spaces). */
    static void write(Path file, Map<String, String> values) throws IOException {
        StringBuilder body = new StringBuilder();
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (!KEY.matcher(e.getKey()).matches() || e.getKey().equals("sha256")) {
                throw new IllegalArgumentException("not a state file key: " + e.getKey());
            }
            body.append(e.getKey()).append('=').append(oneLine(e.getValue())).append('\n');
        }
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        String sum = HexFormat.of().formatHex(Sha256.of(bytes));
        AtomicFiles.write(
                file, (body + "sha256=" + sum + "\n").getBytes(StandardCharsets.UTF_8), AtomicFiles.OWNER_ONLY);
    }

    /** The values of an intact file; empty when it is absent or damaged (logged). */
    static Optional<Map<String, String>> read(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) {
                Logger.error("state file {} is larger than {} bytes: damaged, ignored", file, MAX_BYTES);
                return Optional.empty();
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            Logger.error("cannot read state file {}: {}; ignored", file, e.getMessage());
            return Optional.empty();
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        int last = text.lastIndexOf("sha256=");
        if (last < 0 || (last > 0 && text.charAt(last - 1) != '\n')) {
            Logger.error("state file {} has no checksum line: damaged, ignored", file);
            return Optional.empty();
        }
        String body = text.substring(0, last);
        String sum = text.substring(last + "sha256=".length()).trim();
        String want = HexFormat.of().formatHex(Sha256.of(body.getBytes(StandardCharsets.UTF_8)));
        if (!want.equals(sum)) {
            Logger.error("state file {} does not match its checksum: damaged, ignored", file);
            return Optional.empty();
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : body.split("\n", -1)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return Optional.of(values);
    }

    static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }
}
