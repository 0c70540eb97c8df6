package dev.yulan.topology.processor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.store.StoreNames;
import dev.yulan.topology.store.StoreSuppliers;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.streams.TopologyDescription;
import org.junit.jupiter.api.Test;

class TopologyFactoryTest {

    @Test
    void namesEveryNodeStoreAndTopic() {
        OperatorConfig config = new OperatorConfig(Map.of(
                OperatorConfig.TOPIC_PROMPTS, "in",
                OperatorConfig.TOPIC_COMPLETIONS, "out",
                OperatorConfig.TOPIC_CHUNKS, "tokens",
                OperatorConfig.TOPIC_DEAD_LETTER, "rejects"));
        TopologyDescription description =
                TopologyFactory.build(config, new FakeEngine()).describe();

        assertThat(description.subtopologies()).hasSize(1);
        Set<TopologyDescription.Node> nodes =
                description.subtopologies().iterator().next().nodes();
        Map<String, TopologyDescription.Node> byName =
                nodes.stream().collect(Collectors.toMap(TopologyDescription.Node::name, n -> n));
        assertThat(byName)
                .containsOnlyKeys(
                        TopologyFactory.PROMPTS_SOURCE,
                        TopologyFactory.GENERATE,
                        TopologyFactory.COMPLETIONS_SINK,
                        TopologyFactory.CHUNKS_SINK,
                        TopologyFactory.DEAD_LETTER_SINK);
        assertThat(((TopologyDescription.Source) byName.get(TopologyFactory.PROMPTS_SOURCE)).topicSet())
                .containsExactly("in");
        assertThat(((TopologyDescription.Processor) byName.get(TopologyFactory.GENERATE)).stores())
                .containsExactlyInAnyOrder(StoreNames.INFLIGHT, StoreNames.HISTORY);
        assertThat(((TopologyDescription.Sink) byName.get(TopologyFactory.COMPLETIONS_SINK)).topic())
                .isEqualTo("out");
        assertThat(((TopologyDescription.Sink) byName.get(TopologyFactory.CHUNKS_SINK)).topic())
                .isEqualTo("tokens");
        assertThat(((TopologyDescription.Sink) byName.get(TopologyFactory.DEAD_LETTER_SINK)).topic())
                .isEqualTo("rejects");
    }

    @Test
    void changelogsBothStores() {
        StoreSuppliers stores = StoreSuppliers.persistent();
        assertThat(stores.inflightBuilder().loggingEnabled()).isTrue();
        assertThat(stores.historyBuilder().loggingEnabled()).isTrue();
        assertThat(stores.inflight().get().persistent()).isTrue();
    }
}
