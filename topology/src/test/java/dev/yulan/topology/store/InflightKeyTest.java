package dev.yulan.topology.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.junit.jupiter.api.Test;

class InflightKeyTest {

    @Test
    void roundTrips() {
        InflightKey key = new InflightKey("conversation/7 ü", 42);
        assertThat(InflightKey.decode(key.encode())).isEqualTo(key);
    }

    @Test
    void sortsByConversationThenArrivalAsStoresCompareBytes() {
        List<InflightKey> keys = List.of(
                new InflightKey("a", 10),
                new InflightKey("ab", 1),
                new InflightKey("a", 9),
                new InflightKey("a\u0001", 0),
                new InflightKey("a", 100));
        List<InflightKey> sorted = keys.stream()
                .sorted(Comparator.comparing(k -> Bytes.wrap(k.encode().getBytes(StandardCharsets.UTF_8))))
                .toList();
        assertThat(sorted)
                .containsExactly(
                        new InflightKey("a", 9),
                        new InflightKey("a", 10),
                        new InflightKey("a", 100),
                        new InflightKey("a\u0001", 0),
                        new InflightKey("ab", 1));
        assertThat(sorted.subList(0, 3)).allSatisfy(k -> assertThat(k.encode()).startsWith(InflightKey.prefix("a")));
    }

    @Test
    void refusesConversationIdsWithNul() {
        assertThatThrownBy(() -> new InflightKey("a\u0000b", 1)).hasMessage("conversation id contains NUL");
    }

    @Test
    void packsTokenIds() {
        int[] ids = {1, 0, 98_999, -1, Integer.MAX_VALUE};
        assertThat(TokenIds.unpack(TokenIds.pack(ids))).containsExactly(ids);
        assertThat(TokenIds.pack(ids).remaining()).isEqualTo(ids.length * 4);
        assertThat(Arrays.stream(TokenIds.unpack(TokenIds.pack(new int[0])))).isEmpty();
    }
}
