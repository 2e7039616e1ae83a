package dev.prospector.kafka;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.verifier.RewardIssuer;
import dev.prospector.agent.verifier.Scoring;
import java.util.Optional;

/**
 * One record of the rewards topic: the reward a device earned in a closed epoch, as the Kafka
 * verifier that held the device's partition at the close scored it. CBOR map {@code {v: 1, epoch,
 * device, recipient, amount, score, verifier}}; {@code recipient} is the device's first public key,
 * the ledger account a payout credits ({@link RewardIssuer}). Written in the same transaction as the
 * device's state that records the close, so one (device, epoch) has one record.
 */
public record RewardDue(long epoch, String device, byte[] recipient, long amount, double score, String verifier) {
    static RewardDue of(long epoch, RewardIssuer.Due due, Scoring.EpochScore score, String verifier) {
        return new RewardDue(epoch, due.device().value(), due.firstKey(), due.amount(), score.score(), verifier);
    }

    byte[] encode() {
        CBORObject m = CBORObject.NewOrderedMap();
        m.Add("v", 1);
        m.Add("epoch", epoch);
        m.Add("device", device);
        m.Add("recipient", recipient);
        m.Add("amount", amount);
        m.Add("score", score);
        m.Add("verifier", verifier);
        return m.EncodeToBytes();
    }

    /** Decodes a record of the rewards topic; empty for one that is not a reward due. */
    public static Optional<RewardDue> decode(byte[] bytes) {
        try {
            CBORObject m = CBORObject.DecodeFromBytes(bytes);
            if (m.get("v").AsInt32Value() != 1) {
                return Optional.empty();
            }
            return Optional.of(new RewardDue(
                    m.get("epoch").AsInt64Value(),
                    m.get("device").AsString(),
                    m.get("recipient").GetByteString(),
                    m.get("amount").AsInt64Value(),
                    m.get("score").AsDouble(),
                    m.get("verifier").AsString()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
