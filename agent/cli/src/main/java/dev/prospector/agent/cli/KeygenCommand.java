package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "keygen",
        mixinStandardHelpOptions = true,
        description = {
            "Create the device's Ed25519 key pair, or rotate it (--rotate).",
            "Writes DIR/device.key (PKCS#8 PEM, mode 0600) and DIR/device.pub (PEM), and prints the device id last.",
            "--rotate replaces the key but keeps the device's identity and history: the old key signs a statement naming"
                    + " the new one (kept in DIR/device.rot and carried in every report), which verifiers follow."
        })
public final class KeygenCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--dir",
            required = true,
            paramLabel = "DIR",
            description = "Folder for the key files (created if missing).")
    Path dir;

    @Option(names = "--force", description = "Replace an existing key. The device then has a new identity.")
    boolean force;

    @Option(
            names = "--rotate",
            description = "Replace the existing key with a new one for the same device (same id, chain goes on).")
    boolean rotate;

    @Override
    public Integer call() {
        if (rotate) {
            return rotate();
        }
        Path key = dir.resolve(DeviceKeys.PRIVATE_KEY_FILE);
        if (Files.exists(key) && !force) {
            String what;
            if (!DeviceKeyFile.looksLikePem(key)) {
                what = "not a PEM private key";
            } else {
                try {
                    what = "device " + DeviceKeys.load(dir).deviceId().value();
                } catch (KeyCustodyException e) {
                    what = "unreadable: " + e.getMessage();
                }
            }
            throw new Failure("a device key already exists at " + key + " (" + what
                    + "): keep it, or pass --force to replace it (the device gets a new identity)");
        }
        DeviceKeys keys = DeviceKeys.generate();
        try {
            keys.write(dir);
        } catch (KeyCustodyException e) {
            throw new Failure(e.getMessage());
        }
        var out = spec.commandLine().getOut();
        out.println("wrote " + key + " (mode 0600) and " + dir.resolve(DeviceKeys.PUBLIC_KEY_FILE));
        out.println(keys.deviceId().value());
        out.flush();
        return 0;
    }

    private int rotate() {
        if (force) {
            throw new Failure(
                    "--rotate and --force exclude each other: --rotate keeps the device's identity, --force makes a new one");
        }
        DeviceKeyFile.requirePemIfPresent(dir);
        DeviceKeys rotated;
        try {
            var current = DeviceKeys.load(dir);
            rotated = current.rotate(Instant.now());
            rotated.write(dir);
        } catch (KeyCustodyException e) {
            throw new Failure(e.getMessage());
        } catch (IllegalStateException e) {
            throw new Failure(
                    e.getMessage() + "; the limit keeps reports small. Make a new identity with --force if you must");
        }
        var out = spec.commandLine().getOut();
        out.println("rotated the key in " + dir + " (rotation "
                + rotated.rotations().size() + "); the device keeps its id."
                + " Restart a running agent so that it signs with the new key.");
        out.println(rotated.deviceId().value());
        out.flush();
        return 0;
    }
}
