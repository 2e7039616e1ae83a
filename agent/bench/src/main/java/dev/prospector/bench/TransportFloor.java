package dev.prospector.bench;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The ceiling the MQTT transport puts on a verifier, for {@code bench network}: a client with the
 * verifier's link ({@link MqttLink}, QoS 1, manual acknowledgements, a persistent session) drains
 * the same backlog doing nothing but what the verifier must do around an appraisal: publish a
 * receipt-sized answer (QoS 1) to the device's receipt topic and acknowledge the report. No
 * decoding, no appraisal, no signature. A verifier cannot drain faster than this on the same
 * machine, and the CPU this takes per report is the transport's share of the verifier's.
 */
final class TransportFloor {
    /** Bytes of the answer: about a signed receipt with a challenge. */
    static final int ANSWER_BYTES = 350;

    private TransportFloor() {}

    /**
     * Reports/s and process CPU µs/report (the JIT compiler's taken out, {@link CpuTime}) of one
     * drain of {@code backlog} through {@code url}, and where the machine's cores went ({@link
     * CoreTime}; empty: not known).
     */
    record Result(double perSecond, double cpuMicrosPerReport, Optional<CoreTime.Account> cores) {}

    /** One drain; {@code broker} the broker's process id when it runs here. */
    static Result drain(String url, OptionalLong broker, BenchTransportCommand.Backlog backlog, String runId)
            throws InterruptedException {
        String id = "prospector-bench-floor-" + runId;
        MqttSettings mqtt =
                MqttSettings.of(BrokerUrl.parse(url), id).withSessionExpiry(BenchTransportCommand.VERIFIER_SESSION);
        // A session with its subscription, then away: the broker queues the backlog for it.
        try (MqttLink first = new MqttLink(mqtt, Optional.empty(), acking((t, p, a) -> a.run()))) {
            first.subscribe(Topics.allReports(BenchTransportCommand.FLEET), 1);
            first.connect();
        }
        BenchTransportCommand.publish(url, backlog, "prospector-bench-floor-publisher-" + runId);
        long total = backlog.size();
        var clock = new DrainClock(total, broker);
        byte[] answer = new byte[ANSWER_BYTES];
        MqttLink[] self = new MqttLink[1];
        try (MqttLink link = new MqttLink(mqtt, Optional.empty(), acking((topic, payload, ack) -> {
            String device = topic.substring(0, topic.lastIndexOf('/'));
            self[0].publish(device + "/receipt", answer, 1, false);
            ack.run();
            clock.decided();
        }))) {
            self[0] = link;
            link.subscribe(Topics.allReports(BenchTransportCommand.FLEET), 1);
            CpuTime cpuStart = CpuTime.now();
            link.connect();
            if (!clock.await(BenchTransportCommand.PHASE_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                throw new IllegalStateException("the transport-only drain received " + clock.count() + " of " + total
                        + " reports in " + BenchTransportCommand.PHASE_LIMIT.toSeconds() + " s");
            }
            // As the verifier's row: from the first report to the last, without the connection's set-up.
            return new Result(
                    (total - 1) / ((clock.endNanos() - clock.firstNanos()) / 1e9),
                    clock.cpuEnd().workSince(cpuStart) / 1e3 / total,
                    clock.cores());
        }
    }

    private interface Handler {
        void on(String topic, byte[] payload, Runnable ack);
    }

    private static MqttLink.AcknowledgingListener acking(Handler h) {
        return h::on;
    }
}
