package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.TlsSettings;
import dev.prospector.agent.transport.TlsSocketFactories;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * How a command proves itself to the broker and checks the broker: TLS files and MQTT
 * credentials, shared by {@code run} and {@code verifier} (a picocli mixin). The password comes
 * from a file only, never from the command line, where every user could read it in {@code ps}.
 */
public final class BrokerSecurityOptions {
    @Option(
            names = "--ca",
            paramLabel = "FILE",
            description = "CA certificate(s), PEM, that signed the broker's certificate; needs an ssl:// broker URL.")
    Path ca;

    @Option(
            names = "--cert",
            paramLabel = "FILE",
            description = "Client certificate, PEM, for mutual TLS (needs --ca and --key).")
    Path cert;

    @Option(
            names = "--key",
            paramLabel = "FILE",
            description = "Private key of --cert: PEM (PKCS#8, PKCS#1 or SEC1), mode 0600. Not the device key.")
    Path key;

    @Option(names = "--username", paramLabel = "NAME", description = "MQTT user name.")
    String username;

    @Option(
            names = "--password-file",
            paramLabel = "FILE",
            description = "File whose first line is the MQTT password (mode 0600; needs --username).")
    Path passwordFile;

    /** Whether any of these options was given. */
    public boolean any() {
        return ca != null || cert != null || key != null || username != null || passwordFile != null;
    }

    /**
     * {@code base} with TLS files and credentials; every file is read and checked now, so that a
     * wrong one stops the command at once with one line naming it.
     */
    public MqttSettings apply(MqttSettings base) {
        MqttSettings s = base;
        if (ca == null && (cert != null || key != null)) {
            throw new Failure((cert != null ? "--cert" : "--key")
                    + " needs --ca FILE: the CA certificate that signed the broker's certificate");
        }
        if (ca != null) {
            TlsSettings tls = new TlsSettings(ca, Optional.ofNullable(cert), Optional.ofNullable(key));
            s = s.withTls(tls);
            TlsSocketFactories.create(tls);
        }
        if (passwordFile != null && username == null) {
            throw new Failure("--password-file needs --username NAME");
        }
        if (username != null) {
            if (username.isBlank()) {
                throw new Failure("--username is empty: give the MQTT user name or drop the option");
            }
            s = s.withCredentials(
                    username, passwordFile == null ? Optional.empty() : Optional.of(readPassword(passwordFile)));
        }
        return s;
    }

    private static String readPassword(Path file) {
        TlsSettings.requireOwnerOnly(file, "password file");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new Failure("password file " + file + " does not exist: check --password-file");
        } catch (IOException e) {
            throw new Failure(
                    "cannot read password file " + file + " (" + e.getClass().getSimpleName()
                            + "): it must be UTF-8 text readable by the service user; run: chmod 600 " + file);
        }
        String password = text.lines().findFirst().orElse("");
        if (password.isEmpty()) {
            throw new Failure("password file " + file + " is empty: put the MQTT password on its first line");
        }
        return password;
    }
}
