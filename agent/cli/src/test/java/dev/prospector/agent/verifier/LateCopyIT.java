package dev.prospector.agent.verifier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.SignedReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy of an accepted report that comes back further behind than the appraiser's window (its
 * receipt was lost in a broker restart) is answered as a duplicate from the verifier's accepted
 * log, not refused as a replay; another report with that old seq (a fork, or an attacker's pick of
 * the device's signed reports) stays a replay. Through a real broker, as a board or anyone sees it.
 */
class LateCopyIT {
    private static final String FLEET = "late";
    private static final int REPORTS = 50;
    /** 40 seqs behind the newest: past the appraiser's 32, within the accepted log's lookback. */
    private static final int LATE = 10;

    @TempDir
    Path dir;

    private static ReportInput input(int i) {
        return new ReportInput(
                FLEET,
                Instant.now().truncatedTo(ChronoUnit.MILLIS),
                1,
                Optional.empty(),
                "boot",
                Duration.ofSeconds(60 + i),
                List.of(new MeasurementClaim("uptime", 60 + i, "s", "test")),
                "1.0",
                new byte[32]);
    }

    @Test
    void aLateCopyOfAnAcceptedReportIsADuplicateAndAnotherReportWithItsSeqAReplay() throws Exception {
        Path chain = Files.createDirectories(dir.resolve("device"));
        ReportSigner device = new ReportSigner(DeviceKeys.generate(), ChainState.open(chain));
        String id = device.keys().deviceId().value();
        List<SignedReport> reports = new ArrayList<>();
        for (int i = 1; i < LATE; i++) {
            reports.add(device.sign(input(i)));
        }
        Path fork = Files.createDirectories(dir.resolve("fork"));
        Files.copy(chain.resolve(ChainState.FILE), fork.resolve(ChainState.FILE));
        for (int i = LATE; i <= REPORTS; i++) {
            reports.add(device.sign(input(i)));
        }
        SignedReport other = new ReportSigner(device.keys(), ChainState.open(fork)).sign(input(1000));
        assertEquals(LATE, other.claims().seq());

        DeviceKeys receiptKey = DeviceKeys.generate();
        Appraiser appraiser = new Appraiser(AppraiserConfig.defaults().withFleet(FLEET));
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            AcceptedLog log = AcceptedLog.open(dir.resolve("verifier").resolve("accepted.log"), appraiser::restore);
            try (VerifierService verifier = new VerifierService(
                            FLEET,
                            appraiser,
                            receiptKey,
                            Optional.of(log),
                            VerifierService.links(
                                    MqttSettings.of(url, "verifier").withSessionExpiry(Duration.ZERO)));
                    ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), FLEET, receiptKey.publicKey());
                    MqttLink publisher = new MqttLink(
                            MqttSettings.of(url, "publisher").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (t, p) -> {})) {
                verifier.connect();
                publisher.connect();
                for (SignedReport r : reports) {
                    publisher
                            .publish(Topics.report(FLEET, id), r.bytes(), 1, false)
                            .get();
                }
                await(REPORTS + " accepted")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> receipts.count("accepted") == REPORTS);

                SignedReport late = reports.get(LATE - 1);
                publisher
                        .publish(Topics.report(FLEET, id), late.bytes(), 1, false)
                        .get();
                Receipt copy = awaitReceipt(receipts, REPORTS + 1);
                publisher
                        .publish(Topics.report(FLEET, id), other.bytes(), 1, false)
                        .get();
                Receipt replay = awaitReceipt(receipts, REPORTS + 2);
                System.out.printf(
                        "late copy: %d reports accepted; seq %d again, %d seqs late (the appraiser remembers %d):"
                                + " answered %s; another report claiming seq %d: answered %s: %s%n",
                        REPORTS,
                        LATE,
                        REPORTS - LATE,
                        Limits.DUPLICATE_WINDOW,
                        copy.ok() ? (copy.duplicate() ? "dup" : "accepted") : copy.reason(),
                        LATE,
                        replay.ok()
                                ? "accepted"
                                : replay.reason().map(ReasonCode::code).orElse("?"),
                        replay.detail());

                assertTrue(copy.ok() && copy.duplicate(), "the late copy is a duplicate: " + copy);
                assertEquals(LATE, copy.seq().getAsLong());
                assertFalse(replay.ok(), "another report with that seq is refused: " + replay);
                assertEquals(Optional.of(ReasonCode.REPLAY), replay.reason(), replay.toString());
                VerifierService.DeviceCounts counts = verifier.counts().get(id);
                assertEquals(REPORTS, counts.accepted(), "the copy is not counted as a new acceptance");
                assertEquals(1, counts.duplicates());
                assertEquals(1, counts.rejected());
            }
        }
    }

    private static Receipt awaitReceipt(ReceiptWatcher receipts, int n) {
        await("receipt " + n)
                .atMost(Duration.ofSeconds(30))
                .until(() -> receipts.receipts().size() >= n);
        return receipts.receipts().get(n - 1);
    }
}
