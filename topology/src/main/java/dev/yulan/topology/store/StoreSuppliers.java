package dev.yulan.topology.store;

import dev.yulan.schemas.state.ConversationHistory;
import dev.yulan.schemas.state.InflightRequest;
import java.util.Objects;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/** Where the two stores keep their bytes; both are changelogged whatever the supplier. */
public record StoreSuppliers(KeyValueBytesStoreSupplier inflight, KeyValueBytesStoreSupplier history) {

    public StoreSuppliers {
        Objects.requireNonNull(inflight, "inflight");
        Objects.requireNonNull(history, "history");
        if (!inflight.name().equals(StoreNames.INFLIGHT) || !history.name().equals(StoreNames.HISTORY)) {
            throw new IllegalArgumentException(
                    "store suppliers must be named " + StoreNames.INFLIGHT + " and " + StoreNames.HISTORY);
        }
    }

    /** RocksDB on local disk, restored from the changelogs when a task moves: the production choice. */
    public static StoreSuppliers persistent() {
        return new StoreSuppliers(
                Stores.persistentKeyValueStore(StoreNames.INFLIGHT),
                Stores.persistentKeyValueStore(StoreNames.HISTORY));
    }

    /** Heap only, restored from the changelogs on every start. */
    public static StoreSuppliers inMemory() {
        return new StoreSuppliers(
                Stores.inMemoryKeyValueStore(StoreNames.INFLIGHT), Stores.inMemoryKeyValueStore(StoreNames.HISTORY));
    }

    public StoreBuilder<KeyValueStore<String, InflightRequest>> inflightBuilder() {
        return Stores.keyValueStoreBuilder(inflight, Serdes.String(), new AvroStateSerde<>(InflightRequest.class))
                .withLoggingEnabled(java.util.Map.of())
                .withCachingDisabled();
    }

    public StoreBuilder<KeyValueStore<String, ConversationHistory>> historyBuilder() {
        return Stores.keyValueStoreBuilder(history, Serdes.String(), new AvroStateSerde<>(ConversationHistory.class))
                .withLoggingEnabled(java.util.Map.of())
                .withCachingDisabled();
    }
}
