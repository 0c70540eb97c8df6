package dev.yulan.topology.cli;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.topology.client.ClientSettings;
import dev.yulan.topology.client.CompletionFeed;
import dev.yulan.topology.client.PromptSender;
import dev.yulan.topology.client.Transcript;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.runtime.OperatorRuntime;
import dev.yulan.topology.topics.Topics;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code yulan produce}: send one prompt, optionally wait for the streamed answer. */
@Command(
        name = "produce",
        mixinStandardHelpOptions = true,
        description = {
            "Send one prompt to the operator's prompt topic, keyed by the conversation id (Avro single-object"
                    + " encoding, or --json). With --wait, print the answer as it streams in, then its usage and"
                    + " timings.",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan produce --bootstrap-servers localhost:9092 --conversation c1 'Once upon a time' --wait",
            "  ./yulan produce --conversation c1 --chat 'And then?' --wait      # a second turn of c1",
            "  ./yulan produce --conversation c2 --json --max-tokens 32 'The cat sat'",
        })
public final class ProduceCommand implements Callable<Integer> {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Kafka brokers (bootstrap.servers).")
    String bootstrapServers;

    @Option(
            names = "--conversation",
            required = true,
            paramLabel = "ID",
            description = "The conversation id (the record key); turns of one conversation run in order.")
    String conversation;

    @Parameters(index = "0", paramLabel = "PROMPT", description = "The prompt text.")
    String text;

    @Option(
            names = "--chat",
            description = "Send a user chat message (continuing the conversation when it has history) instead of"
                    + " plain text to complete.")
    boolean chat;

    @Option(names = "--wait", description = "Wait for the answer and print it as it streams in.")
    boolean await;

    @Option(names = "--json", description = "Encode the request as JSON instead of Avro.")
    boolean json;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Tokens to generate at most.")
    Integer maxTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "0 to 2; 0 is greedy.")
    Float temperature;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            description = "How long --wait waits for the completion. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds = 600;

    @Mixin
    ConfigCommand.Options config;

    @Override
    public Integer call() throws InterruptedException {
        if (text.isBlank()) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        List<String> flags = new ArrayList<>();
        if (bootstrapServers != null) {
            flags.add(RuntimeConfig.BOOTSTRAP_SERVERS + "=" + bootstrapServers);
        }
        EffectiveConfig effective = config.load(flags);
        Topics topics = OperatorRuntime.operatorConfig(effective).topics();
        PrintStream out = System.out;
        PromptRequest request = PromptBuilder.request(conversation, text, chat, maxTokens, temperature, await);
        RecordFormat format = json ? RecordFormat.JSON : RecordFormat.AVRO;
        try (PromptSender sender = new PromptSender(ClientSettings.producer(effective), topics.prompts(), format)) {
            if (!await) {
                RecordMetadata sent = sender.send(conversation, request);
                out.println("sent " + request.getRequestId() + " to " + sent.topic() + "-" + sent.partition() + "@"
                        + sent.offset());
                return 0;
            }
            Transcript transcript = new Transcript(out, Transcript.stdoutIsTerminal(), false, conversation::equals);
            CompletableFuture<Completion> done = transcript.completionOf(request.getRequestId());
            try (CompletionFeed feed = CompletionFeed.start(
                    ClientSettings.consumer(effective),
                    topics,
                    CompletionFeed.Start.END,
                    true,
                    new OnlyRequest(request.getRequestId(), transcript, done))) {
                sender.send(conversation, request);
                Completion completion = done.get(timeoutSeconds, TimeUnit.SECONDS);
                return "error".equals(completion.getFinishReason()) ? 1 : 0;
            } catch (TimeoutException e) {
                throw new IllegalStateException("no completion for " + request.getRequestId() + " within "
                        + timeoutSeconds + " s (is the operator running? see the dead-letter topic "
                        + topics.deadLetter() + ")");
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            }
        }
    }

    /** Passes on only one request's records; its dead letter fails the wait with the operator's reason. */
    private record OnlyRequest(String requestId, Transcript transcript, CompletableFuture<Completion> done)
            implements CompletionFeed.Listener {
        @Override
        public void onDeadLetter(dev.yulan.schemas.DeadLetter letter) {
            if (requestId.equals(letter.getRequestId())) {
                done.completeExceptionally(
                        new IllegalArgumentException("the operator rejected " + requestId + ": " + letter.getReason()));
            }
        }

        @Override
        public void onChunk(dev.yulan.schemas.CompletionChunk chunk) {
            if (chunk.getRequestId().equals(requestId)) {
                transcript.onChunk(chunk);
            }
        }

        @Override
        public void onCompletion(Completion completion) {
            if (completion.getRequestId().equals(requestId)) {
                transcript.onCompletion(completion);
            }
        }
    }
}
