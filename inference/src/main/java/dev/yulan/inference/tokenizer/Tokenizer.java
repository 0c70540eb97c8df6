package dev.yulan.inference.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model's tokenizer: {@code tokenizer.json} run by the Hugging Face tokenizers library, with BOS handled here from
 * {@code tokenizer_config.json} and the model config.
 *
 * <p>Encoding never adds special tokens by itself; {@link #encode(String, boolean)} prepends BOS when asked. Which
 * default to ask for is {@link #addBosByDefault()}: {@code add_bos_token} from {@code tokenizer_config.json} if
 * present, else whether the {@code tokenizer.json} post-processor starts sequences with BOS, else true for
 * SentencePiece-style tokenizers ("▁" spaces, byte fallback) that have a BOS token, as Llama's tokenizer does. Text
 * rendered by a chat template already contains BOS and is encoded with {@code addBos=false}, as Hugging Face's
 * {@code apply_chat_template} does.
 *
 * <p>Thread-safe for encoding and decoding; {@link #close()} must not race them.
 */
public final class Tokenizer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Tokenizer.class);
    static final String FILE_NAME = "tokenizer.json";

    private final HuggingFaceTokenizer huggingFace;
    private final TokenizerJson vocab;
    private final int bosId;
    private final int[] eosIds;
    private final boolean addBosByDefault;
    private final String bosToken;
    private final String eosToken;
    private final TokenizerConfigFile config;

    private Tokenizer(
            HuggingFaceTokenizer huggingFace,
            TokenizerJson vocab,
            TokenizerConfigFile config,
            int bosId,
            int[] eosIds,
            boolean addBosByDefault) {
        this.huggingFace = huggingFace;
        this.vocab = vocab;
        this.config = config;
        this.bosId = bosId;
        this.eosIds = eosIds;
        this.addBosByDefault = addBosByDefault;
        this.bosToken = bosId >= 0 ? vocab.pieces()[bosId] : null;
        this.eosToken = config.eosToken() != null
                ? config.eosToken()
                : eosIds.length > 0 && eosIds[0] < vocab.size() ? vocab.pieces()[eosIds[0]] : null;
    }

    /** Loads the tokenizer of a model directory with no BOS/EOS ids from the model config. */
    public static Tokenizer load(Path modelDir) {
        return load(modelDir, -1, new int[0]);
    }

    /**
     * Loads the tokenizer of a model directory.
     *
     * @param configBosId {@code bos_token_id} of the model config, or -1; used when {@code tokenizer_config.json} names
     *     no BOS token (when it does, its token wins, as in Hugging Face's tokenizer)
     * @param configEosIds {@code eos_token_id} of the model/generation config (one or several); the EOS ids are these
     *     plus the id of {@code tokenizer_config.json}'s {@code eos_token}
     * @throws TokenizerException with a one-line message when a file is missing, unreadable or corrupt
     */
    public static Tokenizer load(Path modelDir, int configBosId, int[] configEosIds) {
        if (!Files.isDirectory(modelDir)) {
            throw new TokenizerException("Model directory " + modelDir + " does not exist");
        }
        Path file = modelDir.resolve(FILE_NAME);
        String json;
        try {
            json = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException("No " + FILE_NAME + " in " + modelDir);
        } catch (IOException e) {
            throw new TokenizerException("Cannot read " + file + ": " + e, e);
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JacksonException e) {
            throw new TokenizerException(
                    file + " is not valid JSON: "
                            + e.getOriginalMessage().lines().findFirst().orElse(""),
                    e);
        }
        if (root == null) {
            throw new TokenizerException(file + " is empty");
        }
        TokenizerJson vocab = TokenizerJson.parse(root, file);
        TokenizerConfigFile config = TokenizerConfigFile.read(modelDir);
        int bosId = resolveBos(config, vocab, configBosId, modelDir);
        int[] eosIds = resolveEos(config, vocab, configEosIds);
        boolean addBos = resolveAddBos(config, vocab, bosId);
        HuggingFaceTokenizer hf = NativeTokenizers.create(json, file);
        return new Tokenizer(hf, vocab, config, bosId, eosIds, addBos);
    }

    private static int resolveBos(TokenizerConfigFile config, TokenizerJson vocab, int configBosId, Path modelDir) {
        if (config.bosToken() != null) {
            Integer id = vocab.ids().get(config.bosToken());
            if (id != null) {
                if (configBosId >= 0 && configBosId != id) {
                    log.warn(
                            "{}: tokenizer bos_token {} is id {} but the model config says {}; using {}",
                            modelDir,
                            config.bosToken(),
                            id,
                            configBosId,
                            id);
                }
                return id;
            }
        }
        return configBosId < vocab.size() ? configBosId : -1;
    }

    private static int[] resolveEos(TokenizerConfigFile config, TokenizerJson vocab, int[] configEosIds) {
        Set<Integer> ids = new LinkedHashSet<>();
        for (int id : configEosIds) {
            if (id >= 0) {
                ids.add(id);
            }
        }
        if (config.eosToken() != null) {
            Integer id = vocab.ids().get(config.eosToken());
            if (id != null) {
                ids.add(id);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean resolveAddBos(TokenizerConfigFile config, TokenizerJson vocab, int bosId) {
        if (bosId < 0) {
            return false;
        }
        if (config.addBosToken() != null) {
            return config.addBosToken();
        }
        if (vocab.leadingSpecialId() >= 0) {
            return vocab.leadingSpecialId() == bosId;
        }
        String tokenizerClass = config.tokenizerClass() == null ? "" : config.tokenizerClass();
        return vocab.sentencePieceStyle() || tokenizerClass.startsWith("Llama");
    }

    /** Token ids of {@code text}, with BOS first if {@code addBos} and the model has a BOS token. */
    public int[] encode(String text, boolean addBos) {
        long[] ids = huggingFace.encode(text, false, false).getIds();
        int offset = addBos && bosId >= 0 ? 1 : 0;
        int[] result = new int[ids.length + offset];
        if (offset == 1) {
            result[0] = bosId;
        }
        for (int i = 0; i < ids.length; i++) {
            result[i + offset] = Math.toIntExact(ids[i]);
        }
        return result;
    }

    /** The text of {@code ids}, special tokens included (a leading BOS shows as e.g. {@code "<s> "}). */
    public String decode(int[] ids) {
        return decode(ids, 0, ids.length, false);
    }

    /** The text of {@code ids}; with {@code skipSpecialTokens} special tokens (BOS, EOS, ...) are left out. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, 0, ids.length, skipSpecialTokens);
    }

    String decode(int[] ids, int from, int to, boolean skipSpecialTokens) {
        long[] longs = new long[to - from];
        for (int i = from; i < to; i++) {
            longs[i - from] = ids[i];
        }
        return huggingFace.decode(longs, skipSpecialTokens);
    }

    /** The BOS token id, or -1 if the model has none. */
    public int bosId() {
        return bosId;
    }

    /** The BOS token text (e.g. {@code "<s>"}), or null if the model has none. */
    public String bosToken() {
        return bosToken;
    }

    /** Token ids that end generation: the model config's EOS ids plus the tokenizer's {@code eos_token}. */
    public int[] eosIds() {
        return eosIds.clone();
    }

    /** The EOS token text ({@code tokenizer_config.json}'s {@code eos_token}, else the first EOS id's piece), or null. */
    public String eosToken() {
        return eosToken;
    }

    /** Whether plain-text prompts should get BOS (see the class documentation). */
    public boolean addBosByDefault() {
        return addBosByDefault;
    }

    /** Number of token ids the tokenizer knows (highest id + 1); the model's embedding may have more rows. */
    public int vocabSize() {
        return vocab.size();
    }

    /** The vocabulary piece of a token id as stored in tokenizer.json (e.g. {@code "▁Once"}, {@code "<0xE4>"}). */
    public String piece(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException(
                    "token id " + id + " is outside the vocabulary [0, " + vocab.size() + ")");
        }
        return vocab.pieces()[id];
    }

    /** The id of a vocabulary piece or added token, or -1. */
    public int tokenId(String piece) {
        return vocab.ids().getOrDefault(piece, -1);
    }

    /** Whether the id is a special added token (BOS, EOS, chat markers...). */
    public boolean isSpecial(int id) {
        return id >= 0 && id < vocab.size() && vocab.special()[id];
    }

    TokenizerConfigFile config() {
        return config;
    }

    @Override
    public void close() {
        huggingFace.close();
    }

    @Override
    public String toString() {
        return "Tokenizer[vocab=" + vocab.size() + ", bos=" + bosId + ", eos=" + Arrays.toString(eosIds) + "]";
    }
}
