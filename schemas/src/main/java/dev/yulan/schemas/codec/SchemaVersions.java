package dev.yulan.schemas.codec;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.state.ConversationHistory;
import dev.yulan.schemas.state.InflightRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.message.SchemaStore;

/**
 * Every schema version this build knows: the current ones (compiled classes) and the older ones kept as resources under
 * {@code dev/yulan/schemas/history/}, so that records written by older producers still read. When a schema changes,
 * copy its previous version there and add the file name to {@link #HISTORY}.
 */
public final class SchemaVersions {

    /** Resource names of superseded versions, oldest first. */
    public static final List<String> HISTORY = List.of("PromptRequest-v1.avsc");

    private static final String HISTORY_DIR = "/dev/yulan/schemas/history/";

    private SchemaVersions() {}

    /** The schemas the compiled classes write. */
    public static List<Schema> current() {
        return List.of(
                PromptRequest.getClassSchema(),
                CompletionChunk.getClassSchema(),
                Completion.getClassSchema(),
                DeadLetter.getClassSchema(),
                InflightRequest.getClassSchema(),
                ConversationHistory.getClassSchema());
    }

    /** The superseded versions, oldest first. */
    public static List<Schema> historical() {
        List<Schema> schemas = new ArrayList<>();
        for (String name : HISTORY) {
            schemas.add(load(name));
        }
        return schemas;
    }

    /** A fresh store holding every known version, for decoders to find writer schemas by fingerprint. */
    public static SchemaStore.Cache store() {
        SchemaStore.Cache store = new SchemaStore.Cache();
        current().forEach(store::addSchema);
        historical().forEach(store::addSchema);
        return store;
    }

    /** The {@code version} property of a schema file (1 when absent). */
    public static int version(Schema schema) {
        Object version = schema.getObjectProp("version");
        return version instanceof Number number ? number.intValue() : 1;
    }

    private static Schema load(String name) {
        try (InputStream in = SchemaVersions.class.getResourceAsStream(HISTORY_DIR + name)) {
            if (in == null) {
                throw new IllegalStateException("schema resource missing: " + HISTORY_DIR + name);
            }
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema resource " + name, e);
        }
    }
}
