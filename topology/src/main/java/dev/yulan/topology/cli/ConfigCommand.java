package dev.yulan.topology.cli;

import dev.yulan.topology.config.ConfigLoader;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
                    + " from (default, properties file, YULAN_* environment variable, --set).",
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
        return new ConfigLoader(RuntimeConfig.CONFIG_DEF, OperatorConfig.configDef());
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
        out.flush();
        return 0;
    }

    private static String hideSecrets(String key, String value) {
        return key.contains("password") || key.contains("jaas") || key.contains("secret") ? "[hidden]" : value;
    }
}
