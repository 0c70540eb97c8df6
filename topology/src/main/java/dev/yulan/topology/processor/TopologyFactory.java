package dev.yulan.topology.processor;

import dev.yulan.inference.engine.Engine;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.store.StoreSuppliers;
import dev.yulan.topology.topics.Topics;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.Topology;

/**
 * Builds the operator's topology, and nothing else (no Kafka connection, no threads): one source on the prompt topic
 * with raw bytes (so that every unreadable record can be dead-lettered with its bytes), the generation processor with
 * its two changelogged stores, and three sinks writing bytes the processor has already encoded.
 */
public final class TopologyFactory {

    public static final String PROMPTS_SOURCE = "prompts-source";
    public static final String GENERATE = "generate";
    public static final String COMPLETIONS_SINK = "completions-sink";
    public static final String CHUNKS_SINK = "chunks-sink";
    public static final String DEAD_LETTER_SINK = "dead-letter-sink";

    private TopologyFactory() {}

    /** The production topology: RocksDB stores. */
    public static Topology build(OperatorConfig config, Engine engine) {
        return build(config, engine, StoreSuppliers.persistent());
    }

    public static Topology build(OperatorConfig config, Engine engine, StoreSuppliers stores) {
        return build(config, engine, stores, new RunningGenerations(), DeadLetterListener.NONE);
    }

    /**
     * @param running shared by every task of the instance, to stop and await its generations on shutdown
     * @param deadLetters told of every dead-lettered record (for metrics)
     */
    public static Topology build(
            OperatorConfig config,
            Engine engine,
            StoreSuppliers stores,
            RunningGenerations running,
            DeadLetterListener deadLetters) {
        Topics topics = config.topics();
        Topology topology = new Topology();
        topology.addSource(PROMPTS_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.prompts());
        topology.addProcessor(
                GENERATE, () -> new GenerationProcessor(engine, config, running, deadLetters), PROMPTS_SOURCE);
        topology.addStateStore(stores.inflightBuilder(), GENERATE);
        topology.addStateStore(stores.historyBuilder(), GENERATE);
        topology.addSink(
                COMPLETIONS_SINK, topics.completions(), new ByteArraySerializer(), new ByteArraySerializer(), GENERATE);
        topology.addSink(CHUNKS_SINK, topics.chunks(), new ByteArraySerializer(), new ByteArraySerializer(), GENERATE);
        topology.addSink(
                DEAD_LETTER_SINK, topics.deadLetter(), new ByteArraySerializer(), new ByteArraySerializer(), GENERATE);
        return topology;
    }
}
