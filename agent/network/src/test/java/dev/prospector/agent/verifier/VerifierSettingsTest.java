package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.prospector.agent.transport.BrokerUrl;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VerifierSettingsTest {

    @Test
    void everyWitherKeepsTheReceiptBatch() {
        VerifierWiring.Settings d = VerifierWiring.Settings.inMemory(BrokerUrl.parse("tcp://127.0.0.1:1"), "f");
        assertEquals(VerifierService.DEFAULT_RECEIPT_BATCH, d.receiptBatch());
        var one = new VerifierWiring.Settings(
                d.broker(),
                d.fleet(),
                d.stateDir(),
                d.receiptKeyDir(),
                d.clockSkew(),
                d.registry(),
                d.requireNonce(),
                d.allowEmulated(),
                d.maxDevices(),
                d.newDevicesPerMinute(),
                Optional.empty(),
                d.sessionExpiry(),
                d.proofs(),
                1);
        assertEquals(1, one.withAllowEmulated(true).receiptBatch());
        assertEquals(1, one.withClientId("v").receiptBatch());
        assertEquals(1, one.withProofs(ServiceSettings.defaults()).receiptBatch());
        assertEquals(1, one.withReceiptKeyDir(Path.of("k")).receiptBatch());
    }
}
