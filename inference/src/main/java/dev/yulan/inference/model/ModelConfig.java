package dev.yulan.inference.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The shape and hyper-parameters of a Llama-layout causal LM, read from a Hugging Face {@code config.json}.
 *
 * <p>Accepted: any {@code *ForCausalLM} architecture whose {@code model_type} is {@code llama} (YuLan-Mini and
 * YuLan-Mini-Instruct ship exactly this: {@code LlamaForCausalLM}, with their muP/WeSaR multipliers already folded into
 * the weights). YuLan-Mini's training-time format ({@code YuLanMiniForCausalLM}/{@code MiniYuLanModelForCausalLM},
 * {@code model_type} {@code yulanmini}/{@code miniyulan}) keeps those multipliers apart ({@code scale_emb},
 * {@code hidden_states_shrink}, {@code dim_model_base_logits} and learned per-tensor {@code *_alpha} scalars stored in
 * the checkpoint) and is rejected with a message saying how to convert it.
 *
 * @param architecture the accepted entry of {@code architectures}
 * @param modelType {@code model_type}
 * @param headDim {@code head_dim}, or {@code hidden_size / num_attention_heads} when absent
 * @param numKvHeads {@code num_key_value_heads}, or {@code num_attention_heads} when absent
 * @param ropeTheta {@code rope_theta}, 10000 when absent
 * @param ropeScaling linear RoPE scaling, or null when the config has none
 * @param bosTokenId {@code bos_token_id}, or -1 when absent
 * @param eosTokenIds {@code eos_token_id} (a number or a list), empty when absent
 * @param torchDtype {@code torch_dtype} (or {@code dtype}) as written, null when absent; informational only, the
 *     tensors' own dtypes are what is loaded
 */
public record ModelConfig(
        String architecture,
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean attentionBias,
        boolean tieWordEmbeddings,
        int vocabSize,
        int maxPositionEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds,
        String torchDtype) {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Set<String> YULAN_MINI_TRAINING_TYPES = Set.of("yulanmini", "miniyulan");

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("num_hidden_layers", numLayers);
        requirePositive("num_attention_heads", numHeads);
        requirePositive("num_key_value_heads", numKvHeads);
        requirePositive("head_dim", headDim);
        requirePositive("vocab_size", vocabSize);
        requirePositive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKvHeads != 0) {
            throw new CheckpointException("num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new CheckpointException("head_dim must be even for rotary embeddings, got " + headDim);
        }
        if (!(rmsNormEps > 0)) {
            throw new CheckpointException("rms_norm_eps must be positive, got " + rmsNormEps);
        }
        if (!(ropeTheta > 0)) {
            throw new CheckpointException("rope_theta must be positive, got " + ropeTheta);
        }
    }

    /** Reads {@code config.json} in {@code modelDir}. */
    public static ModelConfig read(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("no config.json in " + modelDir);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses the text of a {@code config.json}; {@code source} names it in error messages. */
    public static ModelConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new CheckpointException("bad JSON in " + source + ": " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(source + " must hold a JSON object");
        }
        Fields f = new Fields(root, source);
        String modelType = f.string("model_type", null);
        String architecture = acceptedArchitecture(f, modelType);

        if (f.has("mlp_bias") && f.bool("mlp_bias", false)) {
            throw new CheckpointException(source + ": mlp_bias true is not supported (Llama/YuLan-Mini have none)");
        }
        String act = f.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new CheckpointException(source + ": hidden_act " + act + " is not supported, only silu (SwiGLU)");
        }

        int hidden = f.integer("hidden_size");
        int heads = f.integer("num_attention_heads");
        int kvHeads = f.has("num_key_value_heads") ? f.integer("num_key_value_heads") : heads;
        int headDim;
        if (f.has("head_dim")) {
            headDim = f.integer("head_dim");
        } else {
            if (heads <= 0 || hidden % heads != 0) {
                throw new CheckpointException(source + ": hidden_size " + hidden
                        + " is not a multiple of num_attention_heads " + heads + " and head_dim is not given");
            }
            headDim = hidden / heads;
        }
        String dtype = f.string("torch_dtype", f.string("dtype", null));
        return new ModelConfig(
                architecture,
                modelType,
                hidden,
                f.integer("intermediate_size"),
                f.integer("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                f.number("rms_norm_eps", 1e-6),
                f.number("rope_theta", 10000.0),
                ropeScaling(f.node("rope_scaling"), source),
                f.bool("attention_bias", false),
                f.bool("tie_word_embeddings", false),
                f.integer("vocab_size"),
                f.has("max_position_embeddings") ? f.integer("max_position_embeddings") : 2048,
                f.has("bos_token_id") ? f.integer("bos_token_id") : -1,
                tokenIds(f.node("eos_token_id"), "eos_token_id", source),
                dtype);
    }

    private static String acceptedArchitecture(Fields f, String modelType) {
        JsonNode archs = f.node("architectures");
        List<String> names = new ArrayList<>();
        if (archs != null && archs.isArray()) {
            archs.forEach(a -> names.add(a.asText()));
        } else if (archs != null && archs.isTextual()) {
            names.add(archs.asText());
        }
        String described = "architectures " + names + ", model_type " + modelType;
        if (modelType != null && YULAN_MINI_TRAINING_TYPES.contains(modelType.toLowerCase(Locale.ROOT))) {
            throw new CheckpointException(f.source + ": " + described
                    + " is YuLan-Mini's training format, whose muP/WeSaR multipliers (scale_emb, hidden_states_shrink,"
                    + " *_alpha) are not folded into the weights; use the released LlamaForCausalLM checkpoint"
                    + " (yulan-team/YuLan-Mini) or convert it to Llama layout first");
        }
        boolean llamaType = modelType == null || modelType.equals("llama");
        for (String name : names) {
            if (name.endsWith("ForCausalLM") && llamaType && (modelType != null || name.equals("LlamaForCausalLM"))) {
                return name;
            }
        }
        throw new CheckpointException(f.source + ": unsupported model (" + described
                + "); this engine runs Llama-layout causal LMs (LlamaForCausalLM, model_type llama)");
    }

    private static RopeScaling ropeScaling(JsonNode node, String source) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new CheckpointException(source + ": rope_scaling must be null or an object, got " + node);
        }
        JsonNode typeNode = node.has("rope_type") ? node.get("rope_type") : node.get("type");
        String type = typeNode == null ? null : typeNode.asText();
        if ("default".equals(type)) {
            return null;
        }
        if (!"linear".equals(type)) {
            throw new CheckpointException(
                    source + ": rope_scaling type " + type + " is not supported (only linear), in " + node);
        }
        JsonNode factor = node.get("factor");
        if (factor == null || !factor.isNumber() || !(factor.asDouble() > 0)) {
            throw new CheckpointException(source + ": linear rope_scaling needs a positive factor, in " + node);
        }
        return new RopeScaling(factor.asDouble());
    }

    static List<Integer> tokenIds(JsonNode node, String field, String source) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        List<Integer> ids = new ArrayList<>();
        if (node.isIntegralNumber()) {
            ids.add(node.intValue());
        } else if (node.isArray()) {
            for (JsonNode id : node) {
                if (!id.isIntegralNumber()) {
                    throw new CheckpointException(source + ": " + field + " must hold integers, got " + node);
                }
                ids.add(id.intValue());
            }
        } else {
            throw new CheckpointException(source + ": " + field + " must be an integer or a list, got " + node);
        }
        return ids;
    }

    private static void requirePositive(String field, int value) {
        if (value <= 0) {
            throw new CheckpointException(field + " must be positive, got " + value);
        }
    }

    /** Width of all query heads together: {@code numHeads * headDim}. */
    public int queryDim() {
        return numHeads * headDim;
    }

    /** Width of all key (or value) heads together: {@code numKvHeads * headDim}. */
    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Query heads sharing one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Number of weights, counting a tied embedding once. */
    public long parameterCount() {
        long h = hiddenSize;
        long perLayer = h * queryDim() + 2 * h * kvDim() + (long) queryDim() * h + 3 * h * intermediateSize + 2 * h;
        if (attentionBias) {
            perLayer += queryDim() + 2L * kvDim() + h;
        }
        long embedding = (long) vocabSize * h;
        return embedding + (tieWordEmbeddings ? 0 : embedding) + numLayers * perLayer + h;
    }

    /** Bytes of key and value cache one token of context takes in every layer, at {@code bytesPerElement}. */
    public long kvBytesPerToken(int bytesPerElement) {
        return 2L * numLayers * kvDim() * bytesPerElement;
    }

    /** Reads typed fields with one-line errors that name the file and the field. */
    private record Fields(JsonNode root, String source) {

        boolean has(String name) {
            JsonNode n = root.get(name);
            return n != null && !n.isNull();
        }

        JsonNode node(String name) {
            return root.get(name);
        }

        int integer(String name) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                throw new CheckpointException(source + " has no " + name);
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new CheckpointException(source + ": " + name + " must be an integer, got " + n);
            }
            return n.intValue();
        }

        double number(String name, double fallback) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber()) {
                throw new CheckpointException(source + ": " + name + " must be a number, got " + n);
            }
            return n.doubleValue();
        }

        boolean bool(String name, boolean fallback) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw new CheckpointException(source + ": " + name + " must be true or false, got " + n);
            }
            return n.booleanValue();
        }

        String string(String name, String fallback) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isTextual()) {
                throw new CheckpointException(source + ": " + name + " must be a string, got " + n);
            }
            return n.asText();
        }
    }
}
