/**
 * Text to token ids and back for the engine: {@link dev.yulan.inference.tokenizer.Tokenizer} (a model directory's
 * {@code tokenizer.json} through the Hugging Face tokenizers library, BOS handled here),
 * {@link dev.yulan.inference.tokenizer.ChatTemplate} (the model's Jinja chat template through Jinjava) and
 * {@link dev.yulan.inference.tokenizer.IncrementalDetokenizer} (streaming text that never splits a character).
 *
 * <h2>The native library</h2>
 *
 * The tokenizers library ({@code ai.djl.huggingface:tokenizers}) is Rust behind JNI. Its jar bundles
 * {@code native/lib/linux-x86_64/cpu/libtokenizers.so} (also linux-aarch64, osx-aarch64, win-x86_64); nothing is
 * downloaded. On first use in a JVM it copies the library out of the jar into a cache directory and loads it from
 * there; later JVMs reuse the copy. The directory is {@code <cache>/tokenizers/<version>-cpu-<platform>/} (for 0.38.0
 * on Linux x86-64: {@code 0.21.0-0.38.0-cpu-linux-x86_64}) where {@code <cache>} is, first match wins:
 *
 * <ol>
 *   <li>the environment variable or system property {@code ENGINE_CACHE_DIR};
 *   <li>the environment variable or system property {@code DJL_CACHE_DIR};
 *   <li>{@code ~/.djl.ai} if the home directory is writable;
 *   <li>{@code ${java.io.tmpdir}/.djl.ai}.
 * </ol>
 *
 * So a fresh container with a read-only home and no network works as is (the copy goes to the temp directory); set
 * {@code DJL_CACHE_DIR} to put it elsewhere, e.g. a writable volume. The copy is written to a temporary directory and
 * moved into place, so concurrent first starts are safe. If the copy or load fails, loading a tokenizer throws a
 * {@link dev.yulan.inference.tokenizer.TokenizerException} naming the directory. (DJL also probes for CUDA through JNA,
 * which unpacks its small helper library to {@code ~/.cache/JNA}, or to {@code java.io.tmpdir} when home is not
 * writable, or to the {@code jna.tmpdir} property's directory; nothing is needed from it.)
 *
 * <p>DJL also "calls home" (HTTP to the EC2 metadata address, then S3) once a day per JVM unless
 * {@code OPT_OUT_TRACKING} is set; this package sets the system property {@code OPT_OUT_TRACKING=true} before the first
 * tokenizer is created unless the operator set it (environment or property) already. The tokenizer is created from the
 * {@code tokenizer.json} text, never from a hub name, so no download is ever attempted.
 *
 * <h2>Library defaults we override</h2>
 *
 * DJL's tokenizer by default adds special tokens, truncates to 512 tokens ("longest first", a silent data loss for
 * prompts) and pads; we create it with {@code addSpecialTokens=false}, {@code truncation=false},
 * {@code padding=false}, and from the JSON text so DJL's own reading of {@code tokenizer_config.json} (which can turn
 * on {@code clean_up_tokenization_spaces}, lower-casing, accent stripping) does not apply.
 *
 * <h2>BOS and the leading space</h2>
 *
 * SentencePiece-style vocabularies (Llama, YuLan) prepend "▁" to the text and their decoder strips one leading space.
 * {@code encode(text, true)} gives the same ids as llama2.c's {@code encode(text, bos=1, eos=0)}: BOS then the text
 * with a dummy-prefix space. Decoding the ids after BOS gives the original text with no leading space, which is also
 * llama2.c's rule (a piece's leading space is dropped right after BOS). With BOS included and special tokens kept,
 * {@code decode} shows {@code "<s> Once..."}; skip special tokens or drop the BOS for plain text.
 */
package dev.yulan.inference.tokenizer;
