package dev.yulan.topology.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Token ids packed as int32 little-endian bytes (compact in the history store and its changelog). */
public final class TokenIds {
    private TokenIds() {}

    public static ByteBuffer pack(int[] ids) {
        ByteBuffer buffer = ByteBuffer.allocate(ids.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asIntBuffer().put(ids);
        return buffer;
    }

    public static int[] unpack(ByteBuffer bytes) {
        ByteBuffer view = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (view.remaining() % Integer.BYTES != 0) {
            throw new IllegalArgumentException("token id bytes not a multiple of 4: " + view.remaining());
        }
        int[] ids = new int[view.remaining() / Integer.BYTES];
        view.asIntBuffer().get(ids);
        return ids;
    }
}
