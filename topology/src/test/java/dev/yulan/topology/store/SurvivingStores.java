package dev.yulan.topology.store;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.internals.InMemoryKeyValueStore;

/**
 * In-memory stores whose committed contents outlive a {@link org.apache.kafka.streams.TopologyTestDriver} (which
 * deletes its state directory on close): what a restarted instance gets back from its local state or changelog. Each
 * commit snapshots the store; a new store of the same name starts from the last snapshot.
 */
public final class SurvivingStores {

    private final Map<String, ConcurrentSkipListMap<Bytes, byte[]>> committed = new java.util.HashMap<>();

    public StoreSuppliers suppliers() {
        return new StoreSuppliers(supplier(StoreNames.INFLIGHT), supplier(StoreNames.HISTORY));
    }

    /** The committed contents of a store, by raw key. */
    public Map<Bytes, byte[]> committed(String name) {
        return committed.computeIfAbsent(name, n -> new ConcurrentSkipListMap<>());
    }

    private KeyValueBytesStoreSupplier supplier(String name) {
        return new KeyValueBytesStoreSupplier() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public KeyValueStore<Bytes, byte[]> get() {
                return new SurvivingStore(name, committed(name));
            }

            @Override
            public String metricsScope() {
                return "in-memory";
            }
        };
    }

    private static final class SurvivingStore extends InMemoryKeyValueStore {
        private final Map<Bytes, byte[]> snapshot;

        SurvivingStore(String name, Map<Bytes, byte[]> snapshot) {
            super(name);
            this.snapshot = snapshot;
        }

        @Override
        public void init(StateStoreContext context, StateStore root) {
            super.init(context, root);
            snapshot.forEach(super::put);
            super.commit(Map.of());
        }

        @Override
        public void commit(Map<TopicPartition, Long> changelogOffsets) {
            super.commit(changelogOffsets);
            snapshot();
        }

        private void snapshot() {
            snapshot.clear();
            try (KeyValueIterator<Bytes, byte[]> all = all()) {
                while (all.hasNext()) {
                    KeyValue<Bytes, byte[]> entry = all.next();
                    snapshot.put(entry.key, entry.value);
                }
            }
        }
    }
}
