package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class AnonymousMemoryTest {

    @Test
    void givesZeroedWritableMemoryOwnedByTheArena() {
        long bytes = 5L << 20;
        MemorySegment segment;
        try (Arena arena = Arena.ofShared()) {
            segment = AnonymousMemory.allocate(bytes, arena);
            assertThat(segment.byteSize()).isEqualTo(bytes);
            assertThat(segment.get(ValueLayout.JAVA_LONG, bytes - 8)).isZero();
            segment.set(ValueLayout.JAVA_LONG, bytes - 8, 42L);
            assertThat(segment.get(ValueLayout.JAVA_LONG, bytes - 8)).isEqualTo(42L);
        }
        assertThatThrownBy(() -> segment.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }
}
