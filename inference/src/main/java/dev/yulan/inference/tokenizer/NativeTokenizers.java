package dev.yulan.inference.tokenizer;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.Utils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Creates DJL's {@link HuggingFaceTokenizer} so that it behaves like the Hugging Face tokenizer with
 * {@code add_special_tokens=False}: no special tokens added, no truncation (DJL otherwise truncates to 512 tokens by
 * default), no padding, no text clean-up. See the package documentation for where the native library goes.
 */
final class NativeTokenizers {

    static {
        // DJL calls home (HTTP to the EC2 metadata address, then to S3) the first time a tokenizer is created in a
        // JVM, unless OPT_OUT_TRACKING is set. Offline that is only seconds of connect timeouts, but we never want it.
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "withOverflowingTokens", "false",
            "truncation", "false",
            "padding", "false");

    private NativeTokenizers() {}

    static HuggingFaceTokenizer create(String json, Path file) {
        try {
            return HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), OPTIONS);
        } catch (EngineException | LinkageError e) {
            throw new TokenizerException(
                    "Cannot load the Hugging Face tokenizers native library (extracted under "
                            + Utils.getEngineCacheDir("tokenizers")
                            + "; set DJL_CACHE_DIR or ENGINE_CACHE_DIR to a writable directory): "
                            + rootMessage(e),
                    e);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + " is not a usable tokenizer: " + rootMessage(e), e);
        }
    }

    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return message.lines().findFirst().orElse("").strip();
    }
}
