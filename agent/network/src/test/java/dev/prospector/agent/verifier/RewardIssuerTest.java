package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.common.StorageFailure;
import dev.prospector.attest.DeviceKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reward log: torn ends cut, damage refused, failed writes undone, nonces never reused. */
class RewardIssuerTest {
    @TempDir
    Path dir;

    private final DeviceKeys rewardKey = DeviceKeys.generate();
    private final DeviceKeys a = DeviceKeys.generate();
    private final DeviceKeys b = DeviceKeys.generate();

    private List<RewardIssuer.Due> due() {
        return List.of(
                new RewardIssuer.Due(a.deviceId(), a.publicKey(), 400),
                new RewardIssuer.Due(b.deviceId(), b.publicKey(), 300));
    }

    @Test
    void aTornTailAndRewardsWithoutTheirClosedLineAreCut() throws IOException {
        Path log = dir.resolve("rewards.log");
        RewardIssuer r = RewardIssuer.open(rewardKey, log);
        r.issue(1, due());
        long good = Files.size(log);
        // Epoch 2 half written: its rewards, and a torn closed line.
        Path other = dir.resolve("other.log");
        RewardIssuer.open(rewardKey, other).issue(2, due());
        String epoch2 = Files.readString(other);
        Files.writeString(log, epoch2.substring(0, epoch2.length() - 10), StandardOpenOption.APPEND);
        RewardIssuer again = RewardIssuer.open(rewardKey, log);
        assertEquals(good, Files.size(log), "cut back to the last closed epoch");
        assertEquals(1, again.lastClosed());
        assertEquals(2, again.nextNonce());
        again.issue(2, due());
        assertEquals(
                List.of(2L, 3L),
                again.recent().subList(2, 4).stream().map(x -> x.tx().nonce()).toList());
        assertEquals(2, RewardIssuer.open(rewardKey, log).lastClosed());
    }

    @Test
    void aDamagedLineBeforeTheEndIsRefused() throws IOException {
        Path log = dir.resolve("rewards.log");
        RewardIssuer r = RewardIssuer.open(rewardKey, log);
        r.issue(1, due());
        r.issue(2, due());
        byte[] all = Files.readAllBytes(log);
        int at = new String(all, StandardCharsets.US_ASCII).indexOf(" 400 ");
        all[at + 1] = '9'; // 900 instead of 400: the line's CRC no longer matches
        Files.write(log, all);
        Failure f = assertThrows(Failure.class, () -> RewardIssuer.open(rewardKey, log));
        assertTrue(f.getMessage().contains("damaged at line 1"), f.getMessage());
    }

    @Test
    void aFailedWriteIsCutOffAndIssuedAgainWithTheSameNonces() throws IOException {
        Path log = dir.resolve("rewards.log");
        RewardIssuer r = RewardIssuer.open(rewardKey, log);
        r.issue(1, due());
        long size = Files.size(log);
        r.faults(step -> {
            if (step == RewardIssuer.Step.WRITE) {
                throw new IOException("No space left on device");
            }
        });
        assertThrows(StorageFailure.class, () -> r.issue(2, due()));
        assertEquals(size, Files.size(log), "the batch written is cut off again");
        assertEquals(1, r.lastClosed());
        r.faults(step -> {});
        r.issue(2, due());
        assertEquals(
                List.of(0L, 1L, 2L, 3L),
                r.recent().stream().map(x -> x.tx().nonce()).toList());
        RewardIssuer again = RewardIssuer.open(rewardKey, log);
        assertEquals(2, again.lastClosed());
        assertEquals(4, again.nextNonce());
    }

    @Test
    void aFailedForceStopsIssuingUntilARestartRereadsTheLog() throws IOException {
        Path log = dir.resolve("rewards.log");
        RewardIssuer r = RewardIssuer.open(rewardKey, log);
        r.issue(1, due());
        r.faults(step -> {
            if (step == RewardIssuer.Step.FORCE) {
                throw new IOException("Input/output error");
            }
        });
        assertThrows(StorageFailure.class, () -> r.issue(2, due()));
        r.faults(step -> {});
        StorageFailure f = assertThrows(StorageFailure.class, () -> r.issue(2, due()));
        assertTrue(f.getMessage().contains("restarts"), f.getMessage());
        // The whole batch reached the file: the restart counts it issued, and never reuses its nonces.
        RewardIssuer again = RewardIssuer.open(rewardKey, log);
        assertEquals(2, again.lastClosed());
        assertEquals(4, again.nextNonce());
    }
}
