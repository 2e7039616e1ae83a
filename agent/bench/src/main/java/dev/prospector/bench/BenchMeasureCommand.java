package dev.prospector.bench;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.cli.JsonOutput;
import dev.prospector.agent.cli.SizeConverter;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.measure.MeasureEndpoint;
import dev.prospector.agent.pos.HttpBandwidthProbe;
import dev.prospector.agent.pos.UpStream;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench measure}: the bandwidth measurement endpoint's throughput on loopback.
 * Starts a {@link MeasureEndpoint} on a free loopback port in this process (the per-device test
 * limit raised, a fresh device id per run) and measures it with the board's client,
 * {@link HttpBandwidthProbe} (a round trip, a download, an upload per run), reading the figures
 * from the endpoint's own signed receipts. With {@code --iperf3} each round also runs iperf3 (one
 * TCP stream over loopback) so that the endpoint and iperf3 are measured side by side under the same
 * load. Also: the process's CPU time per byte moved (client and endpoint together) and, alone on
 * one thread, the pieces a transfer pays for per byte (the endpoint's AES/CTR keystream and
 * SHA-256, the client's SHA-256 of a download, and {@link UpStream}, what a board uploads).
 */
@Command(
        name = "measure",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the bandwidth measurement endpoint on loopback.",
            "Downloads and uploads through a MeasureEndpoint in this process with the board's HTTP client;"
                    + " with --iperf3, iperf3 over loopback in the same rounds."
        })
public final class BenchMeasureCommand implements Callable<Integer> {
    private static final double MIB = 1 << 20;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(
            names = "--bytes",
            split = ",",
            defaultValue = "8M,64M",
            converter = SizeConverter.class,
            paramLabel = "SIZE",
            description = "Bytes each way per test, comma-separated (default: ${DEFAULT-VALUE}).")
    List<Long> sizes;

    @Option(
            names = "--runs",
            defaultValue = "5",
            paramLabel = "N",
            description = "Rounds: each measures every size once (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(
            names = "--iperf3",
            description = "Also run iperf3 (on the PATH) over loopback once a round: a server on a free port,"
                    + " one TCP stream.")
    boolean iperf3;

    @Option(
            names = "--iperf3-seconds",
            defaultValue = "10",
            paramLabel = "S",
            description = "Seconds of each iperf3 run (default: ${DEFAULT-VALUE}).")
    int iperfSeconds;

    private PrintWriter err;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (runs < 1 || runs > 100 || sizes.isEmpty() || iperfSeconds < 1 || iperfSeconds > 60) {
            throw new Failure("--runs must be 1 to 100, --iperf3-seconds 1 to 60, and --bytes name a size");
        }
        long largest = 0;
        for (long b : sizes) {
            if (b < 1 || b > (1L << 30)) {
                throw new Failure("--bytes must be 1 byte to 1G, not " + b);
            }
            largest = Math.max(largest, b);
        }
        PrintWriter out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        var settings = new MeasureEndpoint.Settings("127.0.0.1", 0, largest, 8, 1000, Duration.ofSeconds(60));
        var random = new SecureRandom();
        Map<String, Object> r = new LinkedHashMap<>();
        // Per size: down, up (Mbit/s), CPU ns per byte moved: the process, the endpoint's threads, the client's.
        Map<Long, double[][]> perSize = new LinkedHashMap<>();
        for (long b : sizes) {
            perSize.put(b, new double[5][runs]);
        }
        double[] iperf = new double[iperf3 ? runs : 0];
        double[][] iperfCpu = new double[2][iperf3 ? runs : 0];
        try (var endpoint = MeasureEndpoint.start(settings, DeviceKeys.generate())) {
            var endpointUri = URI.create(endpoint.url());
            note("endpoint on " + endpoint.url() + "; warming up");
            for (long b : sizes) {
                measureOnce(new HttpBandwidthProbe(List.of(endpointUri), b, Duration.ofSeconds(120)), b, random);
            }
            for (int run = 0; run < runs; run++) {
                for (long b : sizes) {
                    var probe = new HttpBandwidthProbe(List.of(endpointUri), b, Duration.ofSeconds(120));
                    double[] m = measureOnce(probe, b, random);
                    double[][] s = perSize.get(b);
                    s[0][run] = m[0];
                    s[1][run] = m[1];
                    s[2][run] = m[2];
                    s[3][run] = m[3];
                    s[4][run] = m[4];
                    note(String.format(
                            Locale.ROOT,
                            "round %d, %s: down %.0f Mbit/s, up %.0f Mbit/s",
                            run + 1,
                            label(b),
                            m[0],
                            m[1]));
                }
                if (iperf3) {
                    double[] i = iperf3Once();
                    iperf[run] = i[0];
                    iperfCpu[0][run] = i[1];
                    iperfCpu[1][run] = i[2];
                    note(String.format(Locale.ROOT, "round %d, iperf3: %.0f Mbit/s", run + 1, i[0]));
                }
            }
        }
        r.put("runs", runs);
        for (var e : perSize.entrySet()) {
            String tag = label(e.getKey());
            double[][] s = e.getValue();
            r.put("down_" + tag + "_mbps_median", round1(BenchPosCommand.median(s[0])));
            r.put("down_" + tag + "_mbps_runs", rounded(s[0]));
            r.put("up_" + tag + "_mbps_median", round1(BenchPosCommand.median(s[1])));
            r.put("up_" + tag + "_mbps_runs", rounded(s[1]));
            r.put("cpu_ns_per_byte_" + tag + "_median", round3(BenchPosCommand.median(s[2])));
            r.put("endpoint_cpu_ns_per_byte_" + tag + "_median", round3(BenchPosCommand.median(s[3])));
            r.put("client_cpu_ns_per_byte_" + tag + "_median", round3(BenchPosCommand.median(s[4])));
            if (iperf3) {
                double ip = BenchPosCommand.median(iperf);
                r.put("down_" + tag + "_share_of_iperf3", round3(BenchPosCommand.median(s[0]) / ip));
                r.put("up_" + tag + "_share_of_iperf3", round3(BenchPosCommand.median(s[1]) / ip));
            }
        }
        if (iperf3) {
            r.put("iperf3_mbps_median", round1(BenchPosCommand.median(iperf)));
            r.put("iperf3_mbps_runs", rounded(iperf));
            r.put("iperf3_cpu_percent_sender_median", round1(BenchPosCommand.median(iperfCpu[0])));
            r.put("iperf3_cpu_percent_receiver_median", round1(BenchPosCommand.median(iperfCpu[1])));
        }
        note("timing the pieces alone");
        pieces(r);
        r.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        r.put(
                "jvm_options",
                String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        print(out, r);
        return 0;
    }

    /**
     * One probe (round trip, download, upload) for a fresh device: the endpoint's down and up
     * figures (Mbit/s, from its receipts) and the process's CPU nanoseconds per byte moved.
     */
    private double[] measureOnce(HttpBandwidthProbe probe, long bytes, SecureRandom random)
            throws InterruptedException {
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        long cpu = processCpuNanos();
        Map<Long, Long> before = threadCpuNanos();
        List<byte[]> receipts = probe.measure(DeviceKeys.generate().deviceId(), nonce);
        long cpuNanos = processCpuNanos() - cpu;
        long[] split = split(before, threadCpuNanos());
        double down = Double.NaN;
        double up = Double.NaN;
        for (byte[] signed : receipts) {
            try {
                var receipt = BandwidthReceipt.open(signed).receipt();
                if (receipt.bytes() != bytes && receipt.direction() != BandwidthReceipt.Direction.RTT) {
                    throw new IllegalStateException("a receipt for " + receipt.bytes() + " bytes of " + bytes);
                }
                switch (receipt.direction()) {
                    case DOWN -> down = receipt.mbps();
                    case UP -> up = receipt.mbps();
                    case RTT -> {}
                }
            } catch (MalformedReportException e) {
                throw new IllegalStateException("the endpoint's receipt does not open", e);
            }
        }
        if (Double.isNaN(down) || Double.isNaN(up)) {
            throw new IllegalStateException("the probe brought " + receipts.size() + " receipts, not down and up");
        }
        return new double[] {down, up, cpuNanos / (2.0 * bytes), split[0] / (2.0 * bytes), split[1] / (2.0 * bytes)};
    }

    /** CPU nanoseconds of every live thread, by id. */
    private static Map<Long, Long> threadCpuNanos() {
        var mx = ManagementFactory.getThreadMXBean();
        Map<Long, Long> out = new LinkedHashMap<>();
        if (mx.isThreadCpuTimeSupported()) {
            for (long id : mx.getAllThreadIds()) {
                long t = mx.getThreadCpuTime(id);
                if (t >= 0) {
                    out.put(id, t);
                }
            }
        }
        return out;
    }

    /**
     * CPU nanoseconds between two snapshots of the endpoint's threads (its handlers and the JDK
     * server's dispatcher) and of the HTTP client's (its selector and workers).
     */
    private static long[] split(Map<Long, Long> before, Map<Long, Long> after) {
        var mx = ManagementFactory.getThreadMXBean();
        long endpoint = 0;
        long client = 0;
        for (var e : after.entrySet()) {
            var info = mx.getThreadInfo(e.getKey());
            if (info == null) {
                continue;
            }
            long used = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            String name = info.getThreadName();
            if (name.startsWith("measure-endpoint") || name.startsWith("HTTP-Dispatcher")) {
                endpoint += used;
            } else if (name.startsWith("HttpClient")) {
                client += used;
            }
        }
        return new long[] {endpoint, client};
    }

    /** One iperf3 run: received Mbit/s, and the sender's and receiver's CPU use in per cent. */
    private double[] iperf3Once() throws IOException, InterruptedException {
        int port;
        try (var s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process server = new ProcessBuilder("iperf3", "-s", "-1", "-p", Integer.toString(port))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            Thread.sleep(300);
            Process client = new ProcessBuilder(
                            "iperf3",
                            "-c",
                            "127.0.0.1",
                            "-p",
                            Integer.toString(port),
                            "-t",
                            Integer.toString(iperfSeconds),
                            "--json")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            String text;
            try (InputStream in = client.getInputStream()) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!client.waitFor(iperfSeconds + 30L, TimeUnit.SECONDS) || client.exitValue() != 0) {
                client.destroy();
                throw new Failure("iperf3 failed: " + text.strip());
            }
            var end = CBORObject.FromJSONString(text).get("end");
            var cpu = end.get("cpu_utilization_percent");
            return new double[] {
                end.get("sum_received").get("bits_per_second").AsDouble() / 1e6,
                cpu.get("host_total").AsDouble(),
                cpu.get("remote_total").AsDouble()
            };
        } catch (IOException e) {
            throw new Failure("cannot run iperf3 (" + e.getMessage() + "): install it or leave out --iperf3");
        } finally {
            server.destroy();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** MB/s of each per-byte piece of a transfer, alone on this thread (CPU time, median of 9 slices). */
    private static void pieces(Map<String, Object> r) {
        byte[] zeros = new byte[64 * 1024];
        byte[] buf = new byte[zeros.length];
        Cipher ctr = keystream();
        MessageDigest sha = Sha256.newDigest();
        var up = new UpStream(new byte[16], Long.MAX_VALUE);
        var pieces = new LinkedHashMap<String, Runnable>();
        pieces.put("aes_ctr", () -> {
            try {
                ctr.update(zeros, 0, zeros.length, buf, 0);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        });
        pieces.put("sha256", () -> sha.update(buf, 0, buf.length));
        pieces.put("upstream", () -> up.read(buf, 0, buf.length));
        for (var e : pieces.entrySet()) {
            double[] mbps = new double[9];
            for (int i = 0; i < mbps.length + 3; i++) {
                long cpu = PosPlot.cpuNanos();
                long bytes = 0;
                do {
                    for (int j = 0; j < 16; j++) {
                        e.getValue().run();
                    }
                    bytes += 16L * buf.length;
                } while (PosPlot.cpuNanos() - cpu < 200_000_000L);
                if (i >= 3) { // three slices of warm-up
                    mbps[i - 3] = bytes / ((PosPlot.cpuNanos() - cpu) / 1e9) / 1e6;
                }
            }
            r.put(e.getKey() + "_mb_per_cpu_s", round1(BenchPosCommand.median(mbps)));
        }
    }

    private static Cipher keystream() {
        try {
            byte[] k = new byte[16];
            new SecureRandom().nextBytes(k);
            Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, "AES"), new IvParameterSpec(new byte[16]));
            return c;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long processCpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return System.nanoTime();
    }

    private void note(String what) {
        err.println(what + " ...");
        err.flush();
    }

    private void print(PrintWriter out, Map<String, Object> r) {
        if (json) {
            var o = CBORObject.NewOrderedMap();
            r.forEach((key, v) -> o.Add(key, CBORObject.FromObject(v)));
            out.println(JsonOutput.of(o));
            out.flush();
            return;
        }
        out.printf(Locale.ROOT, "Measurement endpoint on loopback, medians of %d rounds%n", runs);
        for (long b : sizes) {
            String tag = label(b);
            for (String dir : new String[] {"down", "up"}) {
                String key = dir + "_" + tag;
                row(out, "endpoint, " + dir + ", " + tag, r.get(key + "_mbps_median"), "Mbit/s");
                if (iperf3) {
                    row(out, "  share of iperf3", r.get(key + "_share_of_iperf3"), "");
                }
            }
            row(out, "  CPU of the process per byte moved", r.get("cpu_ns_per_byte_" + tag + "_median"), "ns");
            row(out, "    of the endpoint's threads", r.get("endpoint_cpu_ns_per_byte_" + tag + "_median"), "ns");
            row(out, "    of the HTTP client's threads", r.get("client_cpu_ns_per_byte_" + tag + "_median"), "ns");
        }
        if (iperf3) {
            row(out, "iperf3, one TCP stream", r.get("iperf3_mbps_median"), "Mbit/s");
        }
        row(out, "alone: AES/CTR keystream (the endpoint's download)", r.get("aes_ctr_mb_per_cpu_s"), "MB/CPU s");
        row(out, "alone: SHA-256 (endpoint and client, each download)", r.get("sha256_mb_per_cpu_s"), "MB/CPU s");
        row(out, "alone: UpStream (what the board uploads)", r.get("upstream_mb_per_cpu_s"), "MB/CPU s");
        out.printf(Locale.ROOT, "%s; %s%n", r.get("java"), r.get("jvm_options"));
        out.flush();
    }

    private static void row(PrintWriter out, String what, Object value, String unit) {
        out.printf(Locale.ROOT, "  %-56s %12s %s%n", what, value == null ? "n/a" : value, unit);
    }

    /** A size as the keys name it: {@code 8m}, {@code 256k}, or bytes. */
    static String label(long bytes) {
        if (bytes % (1 << 20) == 0) {
            return (bytes >> 20) + "m";
        }
        return bytes % 1024 == 0 ? (bytes >> 10) + "k" : Long.toString(bytes);
    }

    private static List<Double> rounded(double[] v) {
        var out = new ArrayList<Double>();
        for (double d : v) {
            out.add(round1(d));
        }
        return out;
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
