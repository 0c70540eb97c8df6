package dev.yulan.inference.model;

import java.util.List;
import java.util.Locale;

/**
 * The shape of a synthetic (random-weight) Llama-layout model. Presets: {@link #YULAN_MINI} (the real YuLan-Mini
 * shape, from its released {@code config.json}) and {@link #TINY} (the same structure, GQA 5:1, small enough for tests).
 */
public record SyntheticShape(
        String name,
        int hidden,
        int intermediate,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocab,
        double rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings) {

    /** yulan-team/YuLan-Mini's config.json: rope_theta 490000, max_position_embeddings 28723. */
    public static final SyntheticShape YULAN_MINI =
            new SyntheticShape("yulan-mini", 1920, 4800, 56, 30, 6, 64, 99000, 1e-6, 490000.0, 28723);

    /** GQA 5:1 like YuLan-Mini; every matrix width a multiple of 32 so it quantizes to Q8_0/Q4_0. */
    public static final SyntheticShape TINY =
            new SyntheticShape("tiny", 64, 160, 2, 10, 2, 16, 300, 1e-6, 10000.0, 512);

    public SyntheticShape {
        if (hidden <= 0 || intermediate <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("every dimension of a shape must be positive: " + this);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head dim must be even for rotary embeddings, got " + headDim);
        }
        if (vocab < SyntheticTokenizer.BASE_VOCAB) {
            throw new IllegalArgumentException("vocab must be at least " + SyntheticTokenizer.BASE_VOCAB
                    + " (3 specials and 256 bytes), got " + vocab);
        }
    }

    /** The preset called {@code name} ({@code yulan-mini} or {@code tiny}). */
    public static SyntheticShape preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "yulan-mini", "yulanmini", "yulan" -> YULAN_MINI;
            case "tiny" -> TINY;
            default -> throw new IllegalArgumentException("unknown shape " + name + "; use yulan-mini or tiny");
        };
    }

    public SyntheticShape withLayers(int n) {
        return new SyntheticShape(
                name,
                hidden,
                intermediate,
                n,
                heads,
                kvHeads,
                headDim,
                vocab,
                rmsNormEps,
                ropeTheta,
                maxPositionEmbeddings);
    }

    public SyntheticShape withHidden(int n) {
        return new SyntheticShape(
                name,
                n,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                vocab,
                rmsNormEps,
                ropeTheta,
                maxPositionEmbeddings);
    }

    public SyntheticShape withIntermediate(int n) {
        return new SyntheticShape(
                name, hidden, n, layers, heads, kvHeads, headDim, vocab, rmsNormEps, ropeTheta, maxPositionEmbeddings);
    }

    public SyntheticShape withHeads(int n) {
        return new SyntheticShape(
                name,
                hidden,
                intermediate,
                layers,
                n,
                kvHeads,
                headDim,
                vocab,
                rmsNormEps,
                ropeTheta,
                maxPositionEmbeddings);
    }

    public SyntheticShape withKvHeads(int n) {
        return new SyntheticShape(
                name,
                hidden,
                intermediate,
                layers,
                heads,
                n,
                headDim,
                vocab,
                rmsNormEps,
                ropeTheta,
                maxPositionEmbeddings);
    }

    public SyntheticShape withHeadDim(int n) {
        return new SyntheticShape(
                name,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                n,
                vocab,
                rmsNormEps,
                ropeTheta,
                maxPositionEmbeddings);
    }

    public SyntheticShape withVocab(int n) {
        return new SyntheticShape(
                name,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                n,
                rmsNormEps,
                ropeTheta,
                maxPositionEmbeddings);
    }

    /**
     * The {@code config.json} this shape is written with: YuLan-Mini's layout, biases on q/k/v/o, untied head.
     *
     * @param torchDtype the {@code torch_dtype} to record
     */
    public ModelConfig config(String torchDtype) {
        return new ModelConfig(
                "LlamaForCausalLM",
                "llama",
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                rmsNormEps,
                ropeTheta,
                null,
                true,
                false,
                vocab,
                maxPositionEmbeddings,
                SyntheticTokenizer.BOS_ID,
                List.of(SyntheticTokenizer.EOS_ID),
                torchDtype);
    }
}
