package dev.yulan.inference.model;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Writes a working byte-level tokenizer for a synthetic model, in the Hugging Face {@code tokenizers} JSON format: a
 * BPE model over the 256 byte symbols (GPT-2's byte-to-character mapping) with no merges, so any UTF-8 text encodes to
 * one token per byte and decodes back exactly. Ids 0..2 are {@code <unk>}, {@code <s>}, {@code </s>}; bytes follow;
 * tokens beyond that, up to the vocab size, are never produced by encoding (the model may still sample them).
 */
public final class SyntheticTokenizer {

    public static final int UNK_ID = 0;
    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    public static final int FIRST_BYTE_ID = 3;
    /** Specials plus bytes: the smallest vocab this tokenizer fits. */
    public static final int BASE_VOCAB = FIRST_BYTE_ID + 256;

    /** A chat template in the shape of YuLan-Mini-Instruct's: role tags, the end-of-sentence token after each turn. */
    public static final String CHAT_TEMPLATE =
            "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}</s>\n{% endfor %}"
                    + "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private SyntheticTokenizer() {}

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} for a vocab of {@code vocabSize} into {@code dir}. */
    public static void write(Path dir, int vocabSize, int modelMaxLength) {
        if (vocabSize < BASE_VOCAB) {
            throw new IllegalArgumentException("a byte-level tokenizer needs a vocab of at least " + BASE_VOCAB);
        }
        try {
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(dir.resolve("tokenizer.json").toFile(), tokenizerJson(vocabSize));
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(dir.resolve("tokenizer_config.json").toFile(), tokenizerConfig(modelMaxLength));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tokenizer to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The character GPT-2's byte-level BPE uses for byte {@code b}: printable Latin-1 maps to itself. */
    static char byteSymbol(int b) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            return (char) b;
        }
        int shifted = 0;
        for (int i = 0; i < b; i++) {
            if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) {
                shifted++;
            }
        }
        return (char) (256 + shifted);
    }

    static ObjectNode tokenizerJson(int vocabSize) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int id = 0; id < specials.length; id++) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", specials[id]);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel());

        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(BOS_ID);
        bos.putArray("tokens").add("<s>");

        root.set("decoder", byteLevel());

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < specials.length; id++) {
            vocab.put(specials[id], id);
        }
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(byteSymbol(b)), FIRST_BYTE_ID + b);
        }
        for (int id = BASE_VOCAB; id < vocabSize; id++) {
            vocab.put("<extra_" + (id - BASE_VOCAB) + ">", id);
        }
        model.putArray("merges");
        return root;
    }

    private static ObjectNode byteLevel() {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", false);
        n.put("trim_offsets", true);
        n.put("use_regex", true);
        return n;
    }

    private static ObjectNode tokenizerConfig(int modelMaxLength) {
        ObjectNode c = JSON.createObjectNode();
        c.put("add_bos_token", true);
        c.put("add_eos_token", false);
        c.put("bos_token", "<s>");
        c.put("eos_token", "</s>");
        c.put("unk_token", "<unk>");
        c.put("model_max_length", modelMaxLength);
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        c.put("chat_template", CHAT_TEMPLATE);
        return c;
    }
}
