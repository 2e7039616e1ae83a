package dev.prospector.agent.transport;

import dev.prospector.agent.common.Failure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * TLS to the broker from PEM files: the CA bundle that must have signed the broker's certificate,
 * and for mutual TLS the client certificate (chain) with its private key. The files are read by
 * {@link TlsSocketFactories}; this record only says which they are.
 *
 * @param caFile CA certificates (PEM) trusted for the broker's certificate ({@code --ca})
 * @param certFile client certificate, optionally followed by its intermediates (PEM, {@code --cert})
 * @param keyFile the client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1; mode 0600, {@code --key})
 */
public record TlsSettings(Path caFile, Optional<Path> certFile, Optional<Path> keyFile) {

    /** Permissions that must be absent on secrets: as for device keys, nobody but the owner. */
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE);

    public TlsSettings {
        Objects.requireNonNull(caFile, "caFile");
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
        if (certFile.isPresent() != keyFile.isPresent()) {
            throw new Failure(
                    certFile.isPresent()
                            ? "--cert " + certFile.get() + " needs its private key: add --key FILE"
                            : "--key " + keyFile.get() + " needs its certificate: add --cert FILE");
        }
    }

    /** Server authentication only: the broker's certificate is checked against {@code caFile}. */
    public static TlsSettings serverOnly(Path caFile) {
        return new TlsSettings(caFile, Optional.empty(), Optional.empty());
    }

    /** Mutual TLS: the broker is checked against {@code caFile} and we present {@code certFile}. */
    public static TlsSettings mutual(Path caFile, Path certFile, Path keyFile) {
        return new TlsSettings(caFile, Optional.of(certFile), Optional.of(keyFile));
    }

    public boolean mutual() {
        return certFile.isPresent();
    }

    /**
     * The custody policy for secrets (TLS keys, password files), the same as for device keys and
     * ssh: a file that group or others may access is refused, with the fix.
     *
     * @param what how the message names the file, e.g. "TLS client key"
     */
    public static void requireOwnerOnly(Path file, String what) {
        var view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return; // not a POSIX file system: nothing to check
        }
        Set<PosixFilePermission> perms;
        try {
            perms = view.readAttributes().permissions();
        } catch (NoSuchFileException e) {
            throw new Failure(what + " " + file + " does not exist: check the path");
        } catch (IOException e) {
            throw new Failure("cannot read " + what + " " + file + " (" + e.getMessage()
                    + "); check the file's owner and run: chmod 600 " + file);
        }
        var exposed = EnumSet.noneOf(PosixFilePermission.class);
        exposed.addAll(perms);
        exposed.retainAll(GROUP_OR_OTHERS);
        if (!exposed.isEmpty()) {
            throw new Failure(what + " " + file + " is accessible by group or others (mode "
                    + PosixFilePermissions.toString(perms) + "); refusing to use it; run: chmod 600 " + file);
        }
    }
}
