package dev.yulan.schemas.codec;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Plain JSON (what kcat or a console producer sends) for one record type, guided by its current Avro schema so the
 * field names are the same in both formats: a union with null is the bare value or null, an absent field takes the
 * schema default, bytes are base64 strings, maps are objects. Unknown fields are rejected so a typo
 * ({@code max_token}) is reported instead of silently ignored. Thread-safe.
 */
public final class JsonCodec<T extends SpecificRecord> {

    private final ObjectMapper mapper = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Schema schema;
    private final SpecificData model;

    private JsonCodec(Class<T> type) {
        this.model = new KnownRecords();
        this.schema = model.getSchema(type);
    }

    public static <T extends SpecificRecord> JsonCodec<T> of(Class<T> type) {
        return new JsonCodec<>(type);
    }

    public Schema schema() {
        return schema;
    }

    public byte[] encode(T record) {
        try {
            return mapper.writeValueAsBytes(toJson(record, schema));
        } catch (JacksonException e) {
            throw new RecordFormatException(
                    "cannot write " + schema.getName() + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The record as a JSON tree. */
    public JsonNode toJson(T record) {
        return toJson(record, schema);
    }

    @SuppressWarnings("unchecked")
    public T decode(byte[] bytes) {
        JsonNode tree;
        try {
            tree = mapper.readTree(bytes);
        } catch (JacksonException e) {
            throw new RecordFormatException(
                    "malformed JSON: " + AvroCodec.oneLine(new Exception(e.getOriginalMessage())), e);
        } catch (java.io.IOException e) {
            throw new RecordFormatException("unreadable JSON: " + AvroCodec.oneLine(e), e);
        }
        if (tree == null || tree.isMissingNode()) {
            throw new RecordFormatException("empty JSON document");
        }
        if (!tree.isObject()) {
            throw new RecordFormatException("expected a JSON object for " + schema.getName() + ", got " + kind(tree));
        }
        return (T) fromJson(tree, schema, "");
    }

    private Object fromJson(JsonNode node, Schema type, String path) {
        switch (type.getType()) {
            case RECORD -> {
                if (!node.isObject()) {
                    throw mismatch(path, "an object", node);
                }
                Set<String> known = new HashSet<>();
                for (Schema.Field field : type.getFields()) {
                    known.add(field.name());
                }
                for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                    String name = names.next();
                    if (!known.contains(name)) {
                        throw new RecordFormatException("unknown field '" + join(path, name) + "'");
                    }
                }
                IndexedRecord record = (IndexedRecord) model.newRecord(null, type);
                for (Schema.Field field : type.getFields()) {
                    JsonNode value = node.get(field.name());
                    String fieldPath = join(path, field.name());
                    if (value == null) {
                        if (!field.hasDefaultValue()) {
                            throw new RecordFormatException("missing required field '" + fieldPath + "'");
                        }
                        record.put(field.pos(), model.deepCopy(field.schema(), model.getDefaultValue(field)));
                    } else {
                        record.put(field.pos(), fromJson(value, field.schema(), fieldPath));
                    }
                }
                return record;
            }
            case UNION -> {
                if (node.isNull()) {
                    for (Schema branch : type.getTypes()) {
                        if (branch.getType() == Schema.Type.NULL) {
                            return null;
                        }
                    }
                    throw new RecordFormatException("field '" + path + "' must not be null");
                }
                for (Schema branch : type.getTypes()) {
                    if (branch.getType() != Schema.Type.NULL && accepts(branch, node)) {
                        return fromJson(node, branch, path);
                    }
                }
                Schema first = type.getTypes().stream()
                        .filter(s -> s.getType() != Schema.Type.NULL)
                        .findFirst()
                        .orElseThrow();
                return fromJson(node, first, path);
            }
            case NULL -> {
                if (!node.isNull()) {
                    throw mismatch(path, "null", node);
                }
                return null;
            }
            case STRING -> {
                if (!node.isTextual()) {
                    throw mismatch(path, "a string", node);
                }
                return node.textValue();
            }
            case BOOLEAN -> {
                if (!node.isBoolean()) {
                    throw mismatch(path, "true or false", node);
                }
                return node.booleanValue();
            }
            case INT -> {
                if (!node.isIntegralNumber() || !node.canConvertToInt()) {
                    throw mismatch(path, "a 32-bit integer", node);
                }
                return node.intValue();
            }
            case LONG -> {
                if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                    throw mismatch(path, "a 64-bit integer", node);
                }
                return node.longValue();
            }
            case FLOAT -> {
                if (!node.isNumber()) {
                    throw mismatch(path, "a number", node);
                }
                return node.floatValue();
            }
            case DOUBLE -> {
                if (!node.isNumber()) {
                    throw mismatch(path, "a number", node);
                }
                return node.doubleValue();
            }
            case BYTES -> {
                if (!node.isTextual()) {
                    throw mismatch(path, "a base64 string", node);
                }
                try {
                    return ByteBuffer.wrap(Base64.getDecoder().decode(node.textValue()));
                } catch (IllegalArgumentException e) {
                    throw new RecordFormatException("field '" + path + "' is not valid base64");
                }
            }
            case ARRAY -> {
                if (!node.isArray()) {
                    throw mismatch(path, "an array", node);
                }
                List<Object> items = new ArrayList<>(node.size());
                for (int i = 0; i < node.size(); i++) {
                    items.add(fromJson(node.get(i), type.getElementType(), path + "[" + i + "]"));
                }
                return items;
            }
            case MAP -> {
                if (!node.isObject()) {
                    throw mismatch(path, "an object", node);
                }
                Map<String, Object> map = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> entry = it.next();
                    map.put(
                            entry.getKey(),
                            fromJson(entry.getValue(), type.getValueType(), join(path, entry.getKey())));
                }
                return map;
            }
            default -> throw new IllegalStateException("JSON mapping of Avro " + type.getType() + " is not supported");
        }
    }

    private static boolean accepts(Schema branch, JsonNode node) {
        return switch (branch.getType()) {
            case STRING, BYTES -> node.isTextual();
            case BOOLEAN -> node.isBoolean();
            case INT -> node.isIntegralNumber() && node.canConvertToInt();
            case LONG -> node.isIntegralNumber() && node.canConvertToLong();
            case FLOAT, DOUBLE -> node.isNumber();
            case ARRAY -> node.isArray();
            case RECORD, MAP -> node.isObject();
            default -> false;
        };
    }

    private JsonNode toJson(Object value, Schema type) {
        if (value == null) {
            return NODES.nullNode();
        }
        return switch (type.getType()) {
            case RECORD -> {
                IndexedRecord record = (IndexedRecord) value;
                ObjectNode object = NODES.objectNode();
                for (Schema.Field field : type.getFields()) {
                    object.set(field.name(), toJson(record.get(field.pos()), field.schema()));
                }
                yield object;
            }
            case UNION -> toJson(value, type.getTypes().get(model.resolveUnion(type, value)));
            case NULL -> NODES.nullNode();
            case STRING -> NODES.textNode(value.toString());
            case BOOLEAN -> NODES.booleanNode((Boolean) value);
            case INT -> NODES.numberNode((Integer) value);
            case LONG -> NODES.numberNode((Long) value);
            case FLOAT -> NODES.numberNode((Float) value);
            case DOUBLE -> NODES.numberNode((Double) value);
            case BYTES -> {
                ByteBuffer buffer = ((ByteBuffer) value).duplicate();
                byte[] bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
                yield NODES.textNode(Base64.getEncoder().encodeToString(bytes));
            }
            case ARRAY -> {
                ArrayNode array = NODES.arrayNode();
                for (Object item : (Iterable<?>) value) {
                    array.add(toJson(item, type.getElementType()));
                }
                yield array;
            }
            case MAP -> {
                ObjectNode object = NODES.objectNode();
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    object.set(entry.getKey().toString(), toJson(entry.getValue(), type.getValueType()));
                }
                yield object;
            }
            default -> throw new IllegalStateException("JSON mapping of Avro " + type.getType() + " is not supported");
        };
    }

    private static RecordFormatException mismatch(String path, String expected, JsonNode node) {
        return new RecordFormatException(
                "field '" + (path.isEmpty() ? "(root)" : path) + "' must be " + expected + ", got " + kind(node));
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "the number " + node.asText();
            case BOOLEAN -> node.asText();
            case NULL -> "null";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }
}
