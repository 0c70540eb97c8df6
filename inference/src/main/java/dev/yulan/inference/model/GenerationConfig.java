package dev.yulan.inference.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Defaults from a Hugging Face {@code generation_config.json}. Absent numbers are null, so callers can tell "not set"
 * from a value.
 *
 * @param bosTokenId {@code bos_token_id}, or null
 * @param eosTokenIds {@code eos_token_id} (a number or a list), empty when absent
 */
public record GenerationConfig(
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Boolean doSample,
        Double temperature,
        Double topP,
        Integer topK,
        Double repetitionPenalty) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    public GenerationConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Reads {@code generation_config.json} in {@code modelDir}; null when the file does not exist. */
    public static GenerationConfig read(Path modelDir) {
        Path file = modelDir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public static GenerationConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new CheckpointException("bad JSON in " + source + ": " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(source + " must hold a JSON object");
        }
        JsonNode bos = root.get("bos_token_id");
        if (bos != null && !bos.isNull() && !bos.isIntegralNumber()) {
            throw new CheckpointException(source + ": bos_token_id must be an integer, got " + bos);
        }
        return new GenerationConfig(
                bos == null || bos.isNull() ? null : bos.intValue(),
                ModelConfig.tokenIds(root.get("eos_token_id"), "eos_token_id", source),
                root.hasNonNull("do_sample") ? root.get("do_sample").asBoolean() : null,
                number(root, "temperature", source),
                number(root, "top_p", source),
                root.hasNonNull("top_k") ? (int) number(root, "top_k", source).doubleValue() : null,
                number(root, "repetition_penalty", source));
    }

    private static Double number(JsonNode root, String name, String source) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isNumber()) {
            throw new CheckpointException(source + ": " + name + " must be a number, got " + n);
        }
        return n.doubleValue();
    }
}
