package dev.yulan.inference.model;

import dev.yulan.inference.cache.BlockPool;
import dev.yulan.inference.cache.BlockTable;
import dev.yulan.inference.cache.KvLayout;
import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The Llama-family forward pass (YuLan-Mini, stories260K and any checkpoint of that layout), one step over a
 * {@link ForwardBatch} of rows that may mix prefill chunks and decodes. Reads top to bottom like llama2.c's {@code
 * forward}; every piece of maths is a {@link Kernels} call. Buffers are allocated once for the largest step.
 *
 * <p>Each row's result depends only on its own sequence: the matmuls are batch-invariant, attention is computed per
 * row, and a row's keys and values are written to the cache (rounded to the cache's dtype) before any row reads them,
 * so a sequence gives bit-identical logits whether it runs alone, batched, chunked or from a cached prefix.
 */
public final class Transformer {

    private final ModelConfig config;
    private final ModelWeights weights;
    private final Kernels kernels;
    private final int maxRows;
    private final int maxContext;

    // Dimensions.
    private final int dim;
    private final int hiddenDim;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int qDim;
    private final int kvDim;
    private final int vocab;
    private final float attentionScale;
    private final float eps;

    // RoPE rotation for every position: [maxContext x headDim/2].
    private final float[] ropeCos;
    private final float[] ropeSin;

    // Activations, row-major [rows x width].
    private final float[] x; // residual stream [rows x dim]
    private final float[] xb; // normed input [rows x dim]
    private final float[] q; // queries [rows x qDim]
    private final float[] k; // keys [rows x kvDim]
    private final float[] v; // values [rows x kvDim]
    private final float[] attn; // attention output [rows x qDim]
    private final float[] proj; // projection back to the stream [rows x dim]
    private final float[] gate; // [rows x hiddenDim]
    private final float[] up; // [rows x hiddenDim]
    private final float[] finalHidden; // normed last hidden state of rows that want logits [rows x dim]
    private final float[][] scores; // per worker: [group x maxContext]

    public Transformer(ModelConfig config, ModelWeights weights, Kernels kernels, int maxRows, int maxContext) {
        this.config = config;
        this.weights = weights;
        this.kernels = kernels;
        this.maxRows = maxRows;
        this.maxContext = maxContext;
        this.dim = config.hiddenSize();
        this.hiddenDim = config.intermediateSize();
        this.heads = config.numHeads();
        this.kvHeads = config.numKvHeads();
        this.headDim = config.headDim();
        this.qDim = heads * headDim;
        this.kvDim = kvHeads * headDim;
        this.vocab = config.vocabSize();
        this.attentionScale = (float) (1.0 / Math.sqrt(headDim));
        this.eps = (float) config.rmsNormEps();

        int half = headDim / 2;
        this.ropeCos = new float[maxContext * half];
        this.ropeSin = new float[maxContext * half];
        double positionScale =
                config.ropeScaling() == null ? 1.0 : config.ropeScaling().factor();
        for (int pos = 0; pos < maxContext; pos++) {
            for (int i = 0; i < half; i++) {
                double invFreq = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / headDim);
                double angle = pos / positionScale * invFreq;
                ropeCos[pos * half + i] = (float) Math.cos(angle);
                ropeSin[pos * half + i] = (float) Math.sin(angle);
            }
        }

        this.x = new float[maxRows * dim];
        this.xb = new float[maxRows * dim];
        this.q = new float[maxRows * qDim];
        this.k = new float[maxRows * kvDim];
        this.v = new float[maxRows * kvDim];
        this.attn = new float[maxRows * qDim];
        this.proj = new float[maxRows * dim];
        this.gate = new float[maxRows * hiddenDim];
        this.up = new float[maxRows * hiddenDim];
        this.finalHidden = new float[maxRows * dim];
        this.scores = new float[kernels.threads()][(heads / kvHeads) * maxContext];
    }

    public ModelConfig config() {
        return config;
    }

    public int maxRows() {
        return maxRows;
    }

    public int maxContext() {
        return maxContext;
    }

    /** The KV layout this model needs, with the given block size and storage dtype. */
    public static KvLayout kvLayout(ModelConfig config, int blockTokens, DType dtype) {
        return new KvLayout(config.numLayers(), config.numKvHeads(), config.headDim(), blockTokens, dtype);
    }

    /**
     * Runs one step: writes every row's keys and values into its sequence's cache (the tables must have room for the
     * rows' positions) and the logits of the rows that want them into {@code logits}, {@code [logitCount x vocab]}.
     */
    public void forward(ForwardBatch batch, BlockPool pool, float[] logits) {
        int rows = batch.rows();
        for (int r = 0; r < rows; r++) {
            kernels.row(weights.embedding(), batch.token(r), x, r * dim);
        }
        for (int layer = 0; layer < config.numLayers(); layer++) {
            LayerWeights w = weights.layers().get(layer);
            attentionBlock(batch, pool, layer, w);
            feedForwardBlock(rows, w);
        }
        int outRows = batch.logitCount();
        for (int i = 0; i < outRows; i++) {
            int r = batch.logitRow(i);
            kernels.rmsnorm(finalHidden, i * dim, x, r * dim, weights.finalNorm(), dim, eps);
        }
        if (outRows > 0) {
            kernels.matmul(weights.lmHead(), finalHidden, logits, outRows);
        }
    }

    private void attentionBlock(ForwardBatch batch, BlockPool pool, int layer, LayerWeights w) {
        int rows = batch.rows();
        for (int r = 0; r < rows; r++) {
            kernels.rmsnorm(xb, r * dim, x, r * dim, w.attnNorm(), dim, eps);
        }
        // q, k, v = xb Wq^T + bq, xb Wk^T + bk, xb Wv^T + bv
        kernels.matmul(w.wq(), xb, q, rows);
        kernels.matmul(w.wk(), xb, k, rows);
        kernels.matmul(w.wv(), xb, v, rows);
        addBias(q, w.bq(), rows, qDim);
        addBias(k, w.bk(), rows, kvDim);
        addBias(v, w.bv(), rows, kvDim);

        // Rotate q and k by position, then store k and v in the cache before any row attends.
        KvLayout layout = pool.layout();
        MemorySegment cache = pool.memory();
        int half = headDim / 2;
        for (int r = 0; r < rows; r++) {
            int trig = batch.position(r) * half;
            kernels.rope(q, r * qDim, heads, headDim, ropeCos, ropeSin, trig);
            kernels.rope(k, r * kvDim, kvHeads, headDim, ropeCos, ropeSin, trig);
            BlockTable table = batch.table(r);
            for (int h = 0; h < kvHeads; h++) {
                long keyAt = table.offset(layer, KvLayout.KEY, h, batch.position(r));
                long valueAt = table.offset(layer, KvLayout.VALUE, h, batch.position(r));
                kernels.store(cache, keyAt, layout.keyStride(), layout.dtype(), k, r * kvDim + h * headDim, headDim);
                kernels.store(cache, valueAt, layout.dtype(), v, r * kvDim + h * headDim, headDim);
            }
        }

        // attn = softmax(q K^T / sqrt(headDim)) V, per row and KV head; each KV head serves its group of query heads.
        int work = rows * kvHeads;
        int workers = kernels.threads();
        kernels.parallelFor(workers, worker -> {
            for (int item = worker; item < work; item += workers) {
                attend(batch, cache, layout, layer, item / kvHeads, item % kvHeads, scores[worker]);
            }
        });

        // x += attn Wo^T + bo
        kernels.matmul(w.wo(), attn, proj, rows);
        addBias(proj, w.bo(), rows, dim);
        kernels.add(x, 0, proj, 0, rows * dim);
    }

    /**
     * Attention of one row for the query heads of one KV head, block by block of the cache: each block's keys and
     * values are read once for the whole group of query heads.
     */
    private void attend(
            ForwardBatch batch, MemorySegment cache, KvLayout layout, int layer, int row, int kvHead, float[] score) {
        BlockTable table = batch.table(row);
        int length = batch.position(row) + 1;
        int group = heads / kvHeads;
        int blockTokens = layout.blockTokens();
        int qOff = row * qDim + kvHead * group * headDim; // the group's query heads, consecutive
        for (int t0 = 0; t0 < length; t0 += blockTokens) {
            long keyAt = table.offset(layer, KvLayout.KEY, kvHead, t0);
            int slots = Math.min(blockTokens, length - t0);
            kernels.keyScores(
                    q, qOff, group, headDim, cache, keyAt, layout.dtype(), slots, blockTokens, score, t0, length);
        }
        for (int g = 0; g < group; g++) {
            for (int t = 0; t < length; t++) {
                score[g * length + t] *= attentionScale;
            }
            kernels.softmax(score, g * length, length);
        }
        java.util.Arrays.fill(attn, qOff, qOff + group * headDim, 0f);
        for (int t0 = 0; t0 < length; t0 += blockTokens) {
            long valueAt = table.offset(layer, KvLayout.VALUE, kvHead, t0);
            int slots = Math.min(blockTokens, length - t0);
            kernels.valueSum(attn, qOff, group, headDim, score, t0, length, cache, valueAt, layout.dtype(), slots);
        }
    }

    private void feedForwardBlock(int rows, LayerWeights w) {
        for (int r = 0; r < rows; r++) {
            kernels.rmsnorm(xb, r * dim, x, r * dim, w.ffnNorm(), dim, eps);
        }
        // x += (silu(xb Wgate^T) * (xb Wup^T)) Wdown^T
        kernels.matmul(w.wGate(), xb, gate, rows);
        kernels.matmul(w.wUp(), xb, up, rows);
        kernels.swiglu(gate, 0, up, 0, rows * hiddenDim);
        kernels.matmul(w.wDown(), gate, proj, rows);
        kernels.add(x, 0, proj, 0, rows * dim);
    }

    private void addBias(float[] out, float[] bias, int rows, int width) {
        if (bias == null) {
            return;
        }
        for (int r = 0; r < rows; r++) {
            kernels.add(out, r * width, bias, 0, width);
        }
    }
}
