package dev.yulan.inference.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.yulan.inference.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The tensors of a safetensors checkpoint (one {@code model.safetensors}, or the shards a
 * {@code model.safetensors.index.json} names), memory-mapped into an {@link Arena}: tensor data is never copied, and
 * it stays valid until the arena closes.
 *
 * <p>File format: an 8-byte little-endian header length, a JSON header mapping each tensor name to its {@code dtype},
 * {@code shape} and {@code data_offsets} (begin and end, relative to the byte after the header), then the data.
 * Everything the header says is checked against the file before a tensor is handed out.
 */
public final class SafeTensors {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /** Headers beyond this are not plausible (the reference implementation caps them at 100 MB). */
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Map<String, Integer> ELEMENT_BYTES = Map.ofEntries(
            Map.entry("F64", 8),
            Map.entry("F32", 4),
            Map.entry("F16", 2),
            Map.entry("BF16", 2),
            Map.entry("F8_E4M3", 1),
            Map.entry("F8_E5M2", 1),
            Map.entry("I64", 8),
            Map.entry("I32", 4),
            Map.entry("I16", 2),
            Map.entry("I8", 1),
            Map.entry("U64", 8),
            Map.entry("U32", 4),
            Map.entry("U16", 2),
            Map.entry("U8", 1),
            Map.entry("BOOL", 1));

    /**
     * One tensor: its data is a slice of the mapped file.
     *
     * @param storedType the dtype string of the header ({@code BF16}, {@code F32}, ...)
     * @param shape dimensions, outermost first
     */
    public record Tensor(String name, String storedType, List<Long> shape, MemorySegment data, Path file) {

        public Tensor {
            shape = List.copyOf(shape);
        }

        /** The element type, if the engine can compute with it; otherwise a one-line error naming the tensor. */
        public DType dtype() {
            return switch (storedType) {
                case "F32" -> DType.F32;
                case "F16" -> DType.F16;
                case "BF16" -> DType.BF16;
                default ->
                    throw new CheckpointException("tensor " + name + (file == null ? "" : " in " + file) + " has dtype "
                            + storedType
                            + "; only F32, F16 and BF16 are supported");
            };
        }

        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        public long byteSize() {
            return data.byteSize();
        }
    }

    private final Path source;
    private final Map<String, Tensor> tensors;

    private SafeTensors(Path source, Map<String, Tensor> tensors) {
        this.source = source;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Opens a safetensors file, or a model directory holding {@code model.safetensors} or
     * {@code model.safetensors.index.json} (the index wins when both exist, as in Hugging Face transformers).
     */
    public static SafeTensors open(Path path, Arena arena) {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) {
                return openSharded(index, arena);
            }
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(single)) {
                return new SafeTensors(path, readFile(single, arena));
            }
            throw new CheckpointException("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + path);
        }
        if (!Files.exists(path)) {
            throw new CheckpointException("no such file or directory: " + path);
        }
        if (path.getFileName().toString().endsWith(".index.json")) {
            return openSharded(path, arena);
        }
        return new SafeTensors(path, readFile(path, arena));
    }

    /** Tensors that exist only in memory (synthetic models); {@code source} may be null. */
    static SafeTensors of(Path source, Map<String, Tensor> tensors) {
        return new SafeTensors(source, new LinkedHashMap<>(tensors));
    }

    /** Where the tensors came from: the file, or the model directory. */
    public Path source() {
        return source;
    }

    /** All tensors, in the order of their files. */
    public Collection<Tensor> tensors() {
        return tensors.values();
    }

    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor called {@code name}; a one-line error when the checkpoint has none. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException("tensor " + name + " is missing from " + source);
        }
        return t;
    }

    /** Bytes of tensor data in all files. */
    public long dataBytes() {
        return tensors.values().stream().mapToLong(Tensor::byteSize).sum();
    }

    private static SafeTensors openSharded(Path index, Arena arena) {
        Path dir = index.toAbsolutePath().getParent();
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (NoSuchFileException e) {
            throw new CheckpointException("no such file: " + index);
        } catch (JacksonException e) {
            throw new CheckpointException("bad JSON in " + index + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + index + ": " + e.getMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(index + " has no weight_map object naming the shard of each tensor");
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        Set<String> shards = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(
                        index + ": weight_map entry " + e.getKey() + " must name a file, got " + e.getValue());
            }
            String file = e.getValue().asText();
            Path resolved = dir.resolve(file).normalize();
            if (!resolved.getParent().equals(dir.normalize())) {
                throw new CheckpointException(
                        index + ": shard " + file + " of tensor " + e.getKey() + " is outside " + dir);
            }
            shardOf.put(e.getKey(), file);
            shards.add(file);
        }
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (String shard : shards) {
            Path file = dir.resolve(shard);
            if (!Files.isRegularFile(file)) {
                throw new CheckpointException(
                        index.getFileName() + " names shard " + shard + ", which does not exist in " + dir);
            }
            for (Tensor t : readFile(file, arena).values()) {
                if (all.putIfAbsent(t.name(), t) != null) {
                    throw new CheckpointException("tensor " + t.name() + " is in both "
                            + all.get(t.name()).file() + " and " + file);
                }
            }
        }
        for (Map.Entry<String, String> e : shardOf.entrySet()) {
            Tensor t = all.get(e.getKey());
            if (t == null || !t.file().getFileName().toString().equals(e.getValue())) {
                throw new CheckpointException(index.getFileName() + " puts tensor " + e.getKey() + " in " + e.getValue()
                        + ", but that shard does not hold it");
            }
        }
        return new SafeTensors(dir, all);
    }

    private static Map<String, Tensor> readFile(Path file, Arena arena) {
        MemorySegment mapped;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new CheckpointException(
                        file + " is too short to be a safetensors file (" + size + " bytes, the header alone needs 8)");
            }
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("no such file: " + file);
        } catch (IOException e) {
            throw new CheckpointException("cannot map " + file + ": " + e.getMessage(), e);
        }
        long size = mapped.byteSize();
        long headerLength = mapped.get(LONG_LE, 0);
        if (headerLength < 0 || headerLength > size - 8) {
            throw new CheckpointException(file + ": header length " + Long.toUnsignedString(headerLength)
                    + " runs past the end of the file (" + size + " bytes)");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new CheckpointException(file + ": header length " + headerLength + " is implausibly large");
        }
        byte[] headerBytes = mapped.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            throw new CheckpointException("bad JSON header in " + file + ": " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointException("bad JSON header in " + file + ": not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;

        record Entry(String name, String dtype, List<Long> shape, long begin, long end) {}
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode info = field.getValue();
            String where = "tensor " + name + " in " + file;
            if (!info.isObject()) {
                throw new CheckpointException(where + ": header entry is not an object");
            }
            JsonNode dtypeNode = info.get("dtype");
            if (dtypeNode == null || !dtypeNode.isTextual()) {
                throw new CheckpointException(where + ": header entry has no dtype");
            }
            String dtype = dtypeNode.asText();
            Integer elementBytes = ELEMENT_BYTES.get(dtype);
            if (elementBytes == null) {
                throw new CheckpointException(where + " has unknown dtype " + dtype);
            }
            List<Long> shape = longs(info.get("shape"), -1, where, "shape");
            List<Long> offsets = longs(info.get("data_offsets"), 2, where, "data_offsets");
            long begin = offsets.get(0);
            long end = offsets.get(1);
            if (begin > end || end > dataSize) {
                throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end
                        + "] lie outside the data section (" + dataSize + " bytes)");
            }
            long elements = 1;
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            long expected = Math.multiplyExact(elements, elementBytes);
            if (expected != end - begin) {
                throw new CheckpointException(where + ": shape " + shape + " of " + dtype + " takes " + expected
                        + " bytes, but data_offsets span " + (end - begin));
            }
            entries.add(new Entry(name, dtype, shape, begin, end));
        }
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry prev = byOffset.get(i - 1);
            Entry cur = byOffset.get(i);
            if (cur.begin() < prev.end()) {
                throw new CheckpointException("tensors " + prev.name() + " and " + cur.name() + " in " + file
                        + " overlap (bytes " + cur.begin() + " to " + Math.min(prev.end(), cur.end()) + ")");
            }
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            MemorySegment data = mapped.asSlice(dataStart + e.begin(), e.end() - e.begin());
            tensors.put(e.name(), new Tensor(e.name(), e.dtype(), e.shape(), data, file));
        }
        return tensors;
    }

    private static List<Long> longs(JsonNode node, int length, String where, String field) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new CheckpointException(where + ": " + field + " must be "
                    + (length >= 0 ? "a list of " + length + " integers" : "a list of integers") + ", got " + node);
        }
        List<Long> values = new ArrayList<>();
        for (JsonNode n : node) {
            if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
                throw new CheckpointException(where + ": " + field + " must hold non-negative integers, got " + node);
            }
            values.add(n.longValue());
        }
        return values;
    }
}
