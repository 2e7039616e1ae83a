package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.measure.MeasureEndpoint;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code prospector measure}: a bandwidth measurement endpoint of its own, until SIGTERM. */
@Command(
        name = "measure",
        mixinStandardHelpOptions = true,
        description = {
            "Run a bandwidth measurement endpoint for boards.",
            "Boards test against it when a verifier asks (plain HTTP); it counts and times the bytes itself and signs"
                    + " a receipt of each test with its own key, which verifiers trust with --measure-key."
        })
public final class MeasureCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--port",
            required = true,
            paramLabel = "PORT",
            description = "Port to listen on (0 for a free one, printed at start).")
    int port;

    @Option(
            names = "--bind",
            paramLabel = "ADDR",
            defaultValue = "127.0.0.1",
            description = "Address to listen on; boards must reach it (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(
            names = "--key-dir",
            paramLabel = "DIR",
            description =
                    "The endpoint's key: device.key (0600) and device.pub, made there on first start; verifiers trust device.pub"
                            + " with --measure-key. Without it, a key for this process only.")
    Path keyDir;

    @Option(
            names = "--max-bytes",
            paramLabel = "SIZE",
            defaultValue = "64M",
            converter = SizeConverter.class,
            description = "Largest transfer served in either direction (default: ${DEFAULT-VALUE}).")
    long maxBytes;

    @Option(names = "--json", description = "Print the endpoint's address and key as one JSON object.")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new Failure("--port " + port + " is out of range: use 0 to 65535");
        }
        if (maxBytes < 1) {
            throw new Failure("--max-bytes must be at least 1 byte");
        }
        DeviceKeys key;
        try {
            key = keyDir == null ? DeviceKeys.generate() : DeviceKeys.loadOrCreate(keyDir);
        } catch (KeyCustodyException e) {
            throw new Failure("endpoint key: " + e.getMessage());
        }
        Optional<Path> pub = Optional.ofNullable(keyDir)
                .map(d -> d.resolve(DeviceKeys.PUBLIC_KEY_FILE).toAbsolutePath());
        MeasureEndpoint endpoint;
        try {
            endpoint = MeasureEndpoint.start(
                    MeasureEndpoint.Settings.of(bind, port).withMaxBytes(maxBytes), key);
        } catch (IOException | RuntimeException e) {
            throw new Failure(
                    "cannot listen on " + bind + ":" + port + ": " + e.getMessage()
                            + " (pick a free port or another --bind)",
                    Failure.Kind.UNAVAILABLE,
                    e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            endpoint.close();
            stopped.countDown();
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "shutdown"));
        Signals.onTerminate(() -> {
            Logger.info("stopping on SIGTERM");
            stop.run();
            Signals.exit(0);
        });
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            CBORObject o = CBORObject.NewOrderedMap()
                    .Add("url", endpoint.url())
                    .Add("key", key.deviceId().value())
                    .Add("public_key_file", pub.map(Path::toString).orElse(null));
            out.println(JsonOutput.of(o));
        } else {
            out.println("measurement endpoint " + endpoint.url() + " key " + key.deviceId());
            if (pub.isPresent()) {
                out.println("verifiers trust it with --measure-key " + pub.get()
                        + "; boards test against it with --measure-endpoint " + endpoint.url());
            } else {
                out.println("the key is for this process only (no --key-dir); its public key:");
                out.print(key.publicPem());
            }
        }
        out.flush();
        if (pub.isEmpty()) {
            Logger.warn(
                    "the endpoint's key {} is made for this process only: pass --key-dir DIR to keep it",
                    key.deviceId());
        }
        stopped.await();
        return 0;
    }
}
