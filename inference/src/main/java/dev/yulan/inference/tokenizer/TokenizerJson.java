package dev.yulan.inference.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * What the native library does not expose about a {@code tokenizer.json}: the vocabulary (id to piece, which ids are
 * special), whether its post-processor starts every sequence with a special token, and whether it is SentencePiece
 * style ("▁" for spaces, byte fallback).
 */
record TokenizerJson(
        String[] pieces,
        boolean[] special,
        Map<String, Integer> ids,
        int leadingSpecialId,
        boolean sentencePieceStyle) {

    static TokenizerJson parse(JsonNode root, Path file) {
        if (!root.isObject()) {
            throw new TokenizerException(file + " is not a tokenizer.json (not a JSON object)");
        }
        Map<String, Integer> ids = new HashMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                ids.put(entry.getKey(), entry.getValue().asInt());
            }
        } else if (vocab.isArray()) {
            // Unigram: [[piece, score], ...], the id is the position.
            for (int i = 0; i < vocab.size(); i++) {
                ids.put(vocab.get(i).path(0).asText(), i);
            }
        } else {
            throw new TokenizerException(file + " has no model.vocab");
        }
        Map<Integer, Boolean> specialById = new HashMap<>();
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt(-1);
            String content = added.path("content").asText(null);
            if (id >= 0 && content != null) {
                ids.put(content, id);
                specialById.put(id, added.path("special").asBoolean(false));
            }
        }
        int size = 0;
        for (int id : ids.values()) {
            if (id < 0) {
                throw new TokenizerException(file + " has a negative token id " + id);
            }
            size = Math.max(size, id + 1);
        }
        String[] pieces = new String[size];
        boolean[] special = new boolean[size];
        for (Map.Entry<String, Integer> entry : ids.entrySet()) {
            pieces[entry.getValue()] = entry.getKey();
        }
        specialById.forEach((id, isSpecial) -> special[id] = isSpecial);
        return new TokenizerJson(
                pieces,
                special,
                Map.copyOf(ids),
                leadingSpecialId(root.path("post_processor"), ids),
                sentencePieceStyle(root));
    }

    /** The id of the special token a TemplateProcessing post-processor puts first in a single sequence, else -1. */
    private static int leadingSpecialId(JsonNode processor, Map<String, Integer> ids) {
        String type = processor.path("type").asText("");
        if (type.equals("Sequence")) {
            for (JsonNode inner : processor.path("processors")) {
                int id = leadingSpecialId(inner, ids);
                if (id >= 0) {
                    return id;
                }
            }
            return -1;
        }
        if (!type.equals("TemplateProcessing")) {
            return -1;
        }
        JsonNode first = processor.path("single").path(0).path("SpecialToken");
        if (first.isMissingNode()) {
            return -1;
        }
        String name = first.path("id").asText();
        JsonNode declared =
                processor.path("special_tokens").path(name).path("ids").path(0);
        if (declared.isInt()) {
            return declared.asInt();
        }
        return ids.getOrDefault(name, -1);
    }

    private static boolean sentencePieceStyle(JsonNode root) {
        return root.path("model").path("byte_fallback").asBoolean(false)
                || mentionsSentencePiece(root.path("normalizer"))
                || mentionsSentencePiece(root.path("pre_tokenizer"))
                || mentionsSentencePiece(root.path("decoder"));
    }

    private static boolean mentionsSentencePiece(JsonNode node) {
        if (node.isObject()) {
            String type = node.path("type").asText("");
            if (type.equals("Metaspace")
                    || type.equals("ByteFallback")
                    || (type.equals("Prepend")
                            && node.path("prepend").asText("").equals("▁"))) {
                return true;
            }
        }
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                if (mentionsSentencePiece(child)) {
                    return true;
                }
            }
        }
        return false;
    }

    int size() {
        return pieces.length;
    }
}
