package dev.yulan.inference.model;

import dev.yulan.inference.tensor.DType;

/**
 * How to load a checkpoint.
 *
 * @param quantize null to keep weights in their stored dtype, or {@link DType#Q8_0}/{@link DType#Q4_0} to convert
 *     every matrix at load time (either way they are packed into panels in off-heap memory)
 * @param progress told of progress, never null
 */
public record LoadOptions(DType quantize, LoadProgress progress) {

    public LoadOptions {
        if (quantize != null && !quantize.isQuantized()) {
            throw new IllegalArgumentException("quantize-at-load targets Q8_0 or Q4_0, not " + quantize);
        }
        progress = progress == null ? LoadProgress.NONE : progress;
    }

    public static LoadOptions defaults() {
        return new LoadOptions(null, LoadProgress.NONE);
    }

    public LoadOptions withQuantize(DType target) {
        return new LoadOptions(target, progress);
    }

    public LoadOptions withProgress(LoadProgress listener) {
        return new LoadOptions(quantize, listener);
    }
}
