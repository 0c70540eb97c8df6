package dev.yulan.inference.engine;

import dev.yulan.inference.cache.BlockPool;
import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.model.Checkpoint;
import dev.yulan.inference.model.ModelConfig;
import dev.yulan.inference.model.ModelLoader;
import dev.yulan.inference.model.Transformer;
import dev.yulan.inference.sampling.SamplingValidation;
import dev.yulan.inference.scheduler.Scheduler;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.scheduler.SchedulerStats;
import dev.yulan.inference.tokenizer.ChatTemplate;
import dev.yulan.inference.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The engine: a loaded checkpoint, its tokenizer and chat template, the kernels, the paged KV pool and the
 * continuous-batching scheduler, behind the {@link Engine} API. One per JVM.
 */
public final class ServingEngine implements Engine {

    private final Checkpoint checkpoint;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final Kernels kernels;
    private final BlockPool pool;
    private final Scheduler scheduler;
    private final ModelInfo info;
    private final int maxContext;
    private volatile boolean closed;

    /**
     * Takes ownership of everything it is given and closes it on {@link #close()}.
     *
     * @param modelId the name clients see (a hub id or a directory name)
     */
    public ServingEngine(
            Checkpoint checkpoint,
            Tokenizer tokenizer,
            ChatTemplate chatTemplate,
            Kernels kernels,
            SchedulerConfig config,
            String modelId) {
        this.checkpoint = checkpoint;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.kernels = kernels;
        this.maxContext = Math.min(config.maxContext(), checkpoint.config().maxPositionEmbeddings());
        SchedulerConfig effective = config.withMaxContext(maxContext);
        this.pool = new BlockPool(
                Transformer.kvLayout(checkpoint.config(), config.blockTokens(), config.kvDtype()),
                config.kvCacheBytes(),
                config.shardBlockLimit());
        Transformer transformer = new Transformer(
                checkpoint.config(), checkpoint.weights(), kernels, config.maxBatchTokens(), maxContext);
        String closing =
                chatTemplate.afterAssistantTurn().orElse(tokenizer.eosToken() != null ? tokenizer.eosToken() : "");
        this.scheduler = new Scheduler(transformer, pool, effective, tokenizer, tokenizer.encode(closing, false));
        this.info = new ModelInfo(modelId, maxContext, checkpoint.config().vocabSize());
    }

    /**
     * Loads a model directory (safetensors checkpoint, tokenizer, chat template) and starts an engine on it.
     *
     * @throws dev.yulan.inference.model.CheckpointException or {@link dev.yulan.inference.tokenizer.TokenizerException}
     *     with a one-line reason when the directory cannot be served
     */
    public static ServingEngine open(Path modelDir, EngineOptions options) {
        Checkpoint checkpoint = ModelLoader.load(modelDir, options.load());
        try {
            SchedulerConfig scheduler = options.scheduler() != null
                    ? options.scheduler()
                    : SchedulerConfig.defaults(checkpoint.config().maxPositionEmbeddings());
            String id = options.modelId() != null
                    ? options.modelId()
                    : modelDir.getFileName().toString();
            Kernels kernels = options.threads() > 0 ? Kernels.create(options.threads()) : Kernels.create();
            try {
                return start(checkpoint, modelDir, kernels, scheduler, id);
            } catch (RuntimeException e) {
                kernels.close();
                throw e;
            }
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    /**
     * Starts an engine on a loaded checkpoint, with the tokenizer and chat template of {@code tokenizerDir} (BOS and EOS
     * ids from the checkpoint's configs). On success the engine owns the checkpoint and the kernels and closes them; on
     * failure they stay the caller's.
     */
    public static ServingEngine start(
            Checkpoint checkpoint, Path tokenizerDir, Kernels kernels, SchedulerConfig scheduler, String modelId) {
        ModelConfig config = checkpoint.config();
        List<Integer> eos = checkpoint.generationConfig() != null
                        && !checkpoint.generationConfig().eosTokenIds().isEmpty()
                ? checkpoint.generationConfig().eosTokenIds()
                : config.eosTokenIds();
        Tokenizer tokenizer = Tokenizer.load(
                tokenizerDir,
                config.bosTokenId(),
                eos.stream().mapToInt(Integer::intValue).toArray());
        try {
            ChatTemplate template = ChatTemplate.load(tokenizerDir, tokenizer);
            return new ServingEngine(checkpoint, tokenizer, template, kernels, scheduler, modelId);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        if (closed) {
            throw new EngineClosedException();
        }
        Optional<String> problem = SamplingValidation.problem(request.sampling(), info.vocabSize());
        if (problem.isPresent()) {
            throw new InvalidRequestException(problem.get());
        }
        int[] prompt = tokenize(request.prompt());
        if (prompt.length == 0) {
            throw new InvalidRequestException("the prompt is empty and the model has no BOS token to start from");
        }
        for (int id : prompt) {
            if (id < 0 || id >= info.vocabSize()) {
                throw new InvalidRequestException(
                        "token id " + id + " is outside the vocabulary (0.." + (info.vocabSize() - 1) + ")");
            }
        }
        if (prompt.length >= maxContext) {
            throw new InvalidRequestException("the prompt has " + prompt.length + " tokens; the context holds "
                    + maxContext + " and at least one must be left to generate");
        }
        CompletableFuture<GenerationResult> result = scheduler.submit(request, prompt, listener);
        return new GenerationHandle(request.requestId(), prompt.length, result);
    }

    /** The prompt's token ids, as the model will see them. */
    public int[] tokenize(Prompt prompt) {
        return switch (prompt) {
            case Prompt.Text text ->
                text.text().isEmpty()
                        ? (tokenizer.bosId() >= 0 ? new int[] {tokenizer.bosId()} : new int[0])
                        : tokenizer.encode(text.text(), tokenizer.addBosByDefault());
            case Prompt.Chat chat -> {
                if (chat.messages().isEmpty()) {
                    throw new InvalidRequestException("a chat prompt needs at least one message");
                }
                yield tokenizer.encode(chatTemplate.render(chat.messages(), true), false);
            }
            case Prompt.Tokens tokens -> tokens.ids().clone();
            case Prompt.Continue next -> {
                if (next.messages().isEmpty()) {
                    throw new InvalidRequestException("a conversation turn needs at least one new message");
                }
                int[] turn = tokenizer.encode(chatTemplate.renderContinuation(next.messages()), false);
                int[] all = Arrays.copyOf(next.history(), next.history().length + turn.length);
                System.arraycopy(turn, 0, all, next.history().length, turn.length);
                yield all;
            }
        };
    }

    @Override
    public boolean cancel(String requestId) {
        scheduler.cancel(requestId);
        return true;
    }

    @Override
    public void dropShard(int shard) {
        scheduler.dropShard(shard);
    }

    @Override
    public ModelInfo model() {
        return info;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public SchedulerStats stats() {
        return scheduler.stats();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.close();
        pool.close();
        kernels.close();
        tokenizer.close();
        checkpoint.close();
    }
}
