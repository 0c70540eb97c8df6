package dev.yulan.inference.model;

import dev.yulan.inference.tensor.Matrix;
import java.util.stream.Stream;

/**
 * The weights of one decoder layer, Hugging Face Llama layout. Matrices are {@code [out x in]}; norms and biases are
 * decoded to floats. Biases are null when the checkpoint has none ({@code attention_bias: false}).
 *
 * @param attnNorm {@code input_layernorm.weight} [hidden]
 * @param wq {@code q_proj} [heads*headDim x hidden]
 * @param wk {@code k_proj} [kvHeads*headDim x hidden]
 * @param wv {@code v_proj} [kvHeads*headDim x hidden]
 * @param wo {@code o_proj} [hidden x heads*headDim]
 * @param ffnNorm {@code post_attention_layernorm.weight} [hidden]
 * @param wGate {@code gate_proj} [intermediate x hidden]
 * @param wUp {@code up_proj} [intermediate x hidden]
 * @param wDown {@code down_proj} [hidden x intermediate]
 */
public record LayerWeights(
        float[] attnNorm,
        Matrix wq,
        Matrix wk,
        Matrix wv,
        Matrix wo,
        float[] bq,
        float[] bk,
        float[] bv,
        float[] bo,
        float[] ffnNorm,
        Matrix wGate,
        Matrix wUp,
        Matrix wDown) {

    public boolean hasBiases() {
        return bq != null;
    }

    /** The seven matrices, in the order a forward pass reads them. */
    public Stream<Matrix> matrices() {
        return Stream.of(wq, wk, wv, wo, wGate, wUp, wDown);
    }

    /** A copy with every matrix replaced by {@code f} of it. */
    public LayerWeights map(java.util.function.UnaryOperator<Matrix> f) {
        return new LayerWeights(
                attnNorm,
                f.apply(wq),
                f.apply(wk),
                f.apply(wv),
                f.apply(wo),
                bq,
                bk,
                bv,
                bo,
                ffnNorm,
                f.apply(wGate),
                f.apply(wUp),
                f.apply(wDown));
    }

    /** Bytes of weights one token reads in this layer. */
    public long matrixBytes() {
        return matrices().mapToLong(Matrix::byteSize).sum();
    }
}
