package dev.yulan.inference.model;

import dev.yulan.inference.cache.BlockTable;

/**
 * The rows of one forward step: each row is one token of one sequence at one position. Rows of the same sequence come
 * in ascending positions (a prefill chunk); decodes are one row each. Reused from step to step: no allocation per
 * step.
 */
public final class ForwardBatch {

    private final int capacity;
    private final int[] tokens;
    private final int[] positions;
    private final BlockTable[] tables;
    private final int[] logitRows;
    private int rows;
    private int logitCount;

    public ForwardBatch(int capacity) {
        this.capacity = capacity;
        this.tokens = new int[capacity];
        this.positions = new int[capacity];
        this.tables = new BlockTable[capacity];
        this.logitRows = new int[capacity];
    }

    public void clear() {
        java.util.Arrays.fill(tables, 0, rows, null);
        rows = 0;
        logitCount = 0;
    }

    /**
     * Adds a row; when {@code wantLogits} its logits are produced, in the order such rows were added.
     *
     * @return the row's index among the rows that produce logits, or -1
     */
    public int add(BlockTable table, int token, int position, boolean wantLogits) {
        if (rows == capacity) {
            throw new IllegalStateException("forward batch full at " + capacity + " rows");
        }
        tokens[rows] = token;
        positions[rows] = position;
        tables[rows] = table;
        int logitIndex = -1;
        if (wantLogits) {
            logitIndex = logitCount;
            logitRows[logitCount++] = rows;
        }
        rows++;
        return logitIndex;
    }

    public int capacity() {
        return capacity;
    }

    public int rows() {
        return rows;
    }

    public int token(int row) {
        return tokens[row];
    }

    public int position(int row) {
        return positions[row];
    }

    public BlockTable table(int row) {
        return tables[row];
    }

    /** Rows that produce logits. */
    public int logitCount() {
        return logitCount;
    }

    /** The row of the {@code i}-th logits. */
    public int logitRow(int i) {
        return logitRows[i];
    }
}
