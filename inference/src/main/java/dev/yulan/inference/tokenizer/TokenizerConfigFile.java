package dev.yulan.inference.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The parts of a model directory's {@code tokenizer_config.json} (optional) and {@code chat_template.jinja} (optional,
 * newer transformers versions save the template there and it takes precedence) that the tokenizer and the chat
 * template need. Absent fields are null.
 */
record TokenizerConfigFile(
        Boolean addBosToken, String bosToken, String eosToken, String tokenizerClass, String chatTemplate) {

    static final String FILE_NAME = "tokenizer_config.json";
    static final String TEMPLATE_FILE_NAME = "chat_template.jinja";

    static TokenizerConfigFile read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            root = null;
        } catch (JacksonException e) {
            throw new TokenizerException(
                    file + " is not valid JSON: "
                            + e.getOriginalMessage().lines().findFirst().orElse(""),
                    e);
        } catch (IOException e) {
            throw new TokenizerException("Cannot read " + file + ": " + e, e);
        }
        if (root != null && !root.isObject()) {
            throw new TokenizerException(file + " is not a JSON object");
        }
        Boolean addBos = null;
        String bos = null;
        String eos = null;
        String tokenizerClass = null;
        String template = null;
        if (root != null) {
            JsonNode addBosNode = root.get("add_bos_token");
            addBos = addBosNode != null && addBosNode.isBoolean() ? addBosNode.booleanValue() : null;
            bos = SpecialTokenText.of(root.get("bos_token"));
            eos = SpecialTokenText.of(root.get("eos_token"));
            JsonNode classNode = root.get("tokenizer_class");
            tokenizerClass = classNode != null && classNode.isTextual() ? classNode.asText() : null;
            template = templateOf(root.get("chat_template"), file);
        }
        Path templateFile = modelDir.resolve(TEMPLATE_FILE_NAME);
        if (Files.isRegularFile(templateFile)) {
            try {
                template = Files.readString(templateFile);
            } catch (IOException e) {
                throw new TokenizerException("Cannot read " + templateFile + ": " + e, e);
            }
        }
        return new TokenizerConfigFile(addBos, bos, eos, tokenizerClass, template);
    }

    /** A string, or a list of {name, template} where the one named "default" (else the first) is the chat template. */
    private static String templateOf(JsonNode node, Path file) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            JsonNode chosen = null;
            for (JsonNode entry : node) {
                if (chosen == null || "default".equals(entry.path("name").asText())) {
                    chosen = entry;
                }
            }
            if (chosen != null && chosen.path("template").isTextual()) {
                return chosen.path("template").asText();
            }
        }
        throw new TokenizerException(
                file + ": chat_template must be a string or a list of {name, template}, found " + node.getNodeType());
    }
}
