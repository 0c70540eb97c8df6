package dev.yulan.topology.cli;

import dev.yulan.topology.config.ConfigLoader;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.operator.Operator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code yulan config}: every configuration key, or the effective configuration and where each value came from. */
@Command(
        name = "config",
        mixinStandardHelpOptions = true,
        description = {
            "Show the configuration keys (--list), or the effective configuration: each value and where it came"
                    + " from (default, properties file, YULAN_* environment variable, --set), followed by the Kafka"
                    + " Streams defaults the operator sets and nothing overrode.",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan config --list",
            "  ./yulan config --config app.properties --set metrics.port=9000",
            "  YULAN_ENGINE_THREADS=2 ./yulan config",
        })
public final class ConfigCommand implements Callable<Integer> {

    /** Every key definition the operator reads; commands that load configuration use this loader. */
    public static ConfigLoader loader() {
        return new ConfigLoader(RuntimeConfig.configDef(), OperatorConfig.configDef());
    }

    /** The {@code --config FILE} and {@code --set key=value} options, for any command that loads configuration. */
    public static final class Options {

        @Option(
                names = {"-c", "--config"},
                paramLabel = "FILE",
                description = "A properties file of configuration keys (see ./yulan config --list).")
        Path file;

        @Option(
                names = "--set",
                paramLabel = "KEY=VALUE",
                description = "Set a configuration key; overrides the file and YULAN_* environment variables."
                        + " Repeatable.")
        List<String> sets = new ArrayList<>();

        /** The effective configuration from the defaults, the file, this process's environment and the flags. */
        public ConfigLoader.EffectiveConfig load() {
            return loader().load(Optional.ofNullable(file), sets);
        }

        /**
         * As {@link #load()}, with {@code defaults} (each {@code key=value}) applied as the lowest {@code --set}
         * entries (the user's own --set wins over them) and {@code flags} after every {@code --set} (they win).
         */
        public ConfigLoader.EffectiveConfig load(List<String> defaults, List<String> flags) {
            List<String> all = new ArrayList<>(defaults);
            all.addAll(sets);
            all.addAll(flags);
            return loader().load(Optional.ofNullable(file), all);
        }

        /** As {@link #load()}, with {@code flags} (each {@code key=value}) after every {@code --set}: they win. */
        public ConfigLoader.EffectiveConfig load(List<String> flags) {
            List<String> all = new ArrayList<>(sets);
            all.addAll(flags);
            return loader().load(Optional.ofNullable(file), all);
        }
    }

    @Option(names = "--list", description = "List every key: name, type, default and meaning.")
    boolean list;

    @Option(
            names = "--markdown",
            description = "Print the reference of every key as Markdown (docs/CONFIGURATION.md is this output).")
    boolean markdown;

    @Mixin
    Options options;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (list) {
            out.print(loader().describe());
            out.flush();
            return 0;
        }
        if (markdown) {
            out.print(markdown());
            out.flush();
            return 0;
        }
        ConfigLoader.EffectiveConfig config = options.load();
        int width = config.origins().keySet().stream()
                .mapToInt(String::length)
                .max()
                .orElse(3);
        String format = "%-" + width + "s  %-30s  %s%n";
        out.printf(format, "KEY", "VALUE", "FROM");
        for (Map.Entry<String, String> origin : config.origins().entrySet()) {
            String key = origin.getKey();
            String value = config.values().containsKey(key)
                    ? String.valueOf(config.values().get(key))
                    : config.kafka().get(key);
            out.printf(format, key, hideSecrets(key, value), origin.getValue());
        }
        for (var kafkaDefault : new TreeMap<>(Operator.streamsDefaults()).entrySet()) {
            String key = kafkaDefault.getKey().toString();
            if (!config.origins().containsKey(key)) {
                out.printf(format, key, kafkaDefault.getValue(), "operator default");
            }
        }
        out.flush();
        return 0;
    }

    /** The configuration reference: every key of the operator, the Kafka Streams defaults it sets, pass-through. */
    public static String markdown() {
        String tmp = System.getProperty("java.io.tmpdir");
        StringBuilder md = new StringBuilder();
        md.append("# Configuration\n\n")
                .append("<!-- Generated by `./yulan config --markdown`; ConfigDocsTest keeps it in sync. -->\n\n")
                .append(
                        "`./yulan run`, `./yulan demo` and `./yulan config` read these keys from, in increasing order of")
                .append(" precedence:\n\n")
                .append("1. the defaults below;\n")
                .append("2. a properties file (`--config FILE`);\n")
                .append("3. environment variables: `YULAN_` + the key upper-cased, `.` and `-` as `_`")
                .append(" (`metrics.port` is `YULAN_METRICS_PORT`);\n")
                .append("4. `--set key=value` flags, and the commands' own flags (`--bootstrap-servers`, `--model`,")
                .append(" `--metrics-port`, `--state-dir`).\n\n")
                .append("An unknown key or an invalid value is an error at startup, naming the key and where it came")
                .append(" from. `./yulan config` shows the effective value of every key and its origin;")
                .append(" `./yulan config --list` prints this table.\n\n")
                .append("## Keys\n\n")
                .append("| key | type | default | environment variable | meaning |\n")
                .append("|---|---|---|---|---|\n");
        for (ConfigLoader.KeyDescription key : loader().list()) {
            String shown = key.defaultValue().startsWith(tmp)
                    ? "<java.io.tmpdir>" + key.defaultValue().substring(tmp.length())
                    : key.defaultValue();
            boolean worthShowing =
                    !key.validValues().isEmpty() && !key.validValues().equals("non-empty string");
            String meaning = key.documentation() + (worthShowing ? " Valid values: " + key.validValues() + "." : "");
            md.append("| `")
                    .append(key.name())
                    .append("` | ")
                    .append(key.type())
                    .append(" | `")
                    .append(shown)
                    .append("` | `")
                    .append(key.environmentVariable())
                    .append("` | ")
                    .append(meaning.replace("|", "\\|"))
                    .append(" |\n");
        }
        md.append("\n## Kafka settings\n\n")
                .append("Kafka Streams, producer, consumer and admin settings pass through to Kafka, bare or with the")
                .append(" Kafka Streams prefixes `producer.`, `consumer.`, `main.consumer.`, `restore.consumer.`,")
                .append(" `global.consumer.`, `admin.` and `topic.` (e.g. `num.stream.threads=2`,")
                .append(" `producer.linger.ms=5`, `security.protocol=SASL_SSL`). They are checked against Kafka's own")
                .append(" definitions, so a misspelled Kafka key is an error too.\n\n")
                .append("The operator sets these Kafka Streams defaults; any of them can be overridden:\n\n")
                .append("| key | default |\n|---|---|\n");
        new TreeMap<>(Operator.streamsDefaults())
                .forEach((key, value) -> md.append("| `")
                        .append(key)
                        .append("` | `")
                        .append(value)
                        .append("` |\n"));
        md.append("\n`application.id`, `bootstrap.servers` and `state.dir` are keys of the table above (their")
                .append(" defaults win over the operator's).\n\n")
                .append("Static membership (a restarted instance keeps its partitions, and with them its KV caches,")
                .append(" without a rebalance): give each instance a stable, distinct")
                .append(" `main.consumer.group.instance.id` (e.g. the pod name), for example")
                .append(" `YULAN_MAIN_CONSUMER_GROUP_INSTANCE_ID=$(hostname)` or")
                .append(" `--set main.consumer.group.instance.id=yulan-0`.\n");
        return md.toString();
    }

    private static String hideSecrets(String key, String value) {
        return key.contains("password") || key.contains("jaas") || key.contains("secret") ? "[hidden]" : value;
    }
}
