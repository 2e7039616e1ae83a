package dev.prospector.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** How far a Kafka verifier's judge may go ({@link KafkaVerifier#readThrough}). */
class ReadThroughTest {
    static final TopicPartition P0 = new TopicPartition("prospector.f.reports", 0);
    static final TopicPartition P1 = new TopicPartition("prospector.f.reports", 1);

    @Test
    void partitionsReadToTheirEndLeaveTheJudgeToItsClock() {
        assertEquals(
                OptionalLong.of(Long.MAX_VALUE),
                KafkaVerifier.readThrough(Set.of(P0, P1), tp -> OptionalLong.of(0), Map.of()));
        assertEquals(
                OptionalLong.of(Long.MAX_VALUE),
                KafkaVerifier.readThrough(Set.of(), tp -> OptionalLong.empty(), Map.of()));
    }

    @Test
    void aPartitionBehindHoldsTheJudgeAtTheLastArrivalReadThere() {
        Map<TopicPartition, Long> readTo = Map.of(P0, 5_000L, P1, 9_000L);
        assertEquals(
                OptionalLong.of(5_000),
                KafkaVerifier.readThrough(Set.of(P0, P1), tp -> OptionalLong.of(tp == P0 ? 120 : 3), readTo));
        assertEquals(
                OptionalLong.of(9_000),
                KafkaVerifier.readThrough(Set.of(P0, P1), tp -> OptionalLong.of(tp == P0 ? 0 : 3), readTo),
                "P0 is read to its end: only P1 holds it back");
    }

    @Test
    void aPartitionNotReadSinceItCameHoldsEverything() {
        // Its lag unknown (no fetch yet) or positive, and nothing read: its reports could be of any time.
        assertEquals(
                OptionalLong.empty(),
                KafkaVerifier.readThrough(
                        Set.of(P0, P1), tp -> tp == P0 ? OptionalLong.of(0) : OptionalLong.empty(), Map.of()));
        assertEquals(
                OptionalLong.empty(),
                KafkaVerifier.readThrough(Set.of(P0, P1), tp -> OptionalLong.of(7), Map.of(P0, 1_000L)));
    }
}
