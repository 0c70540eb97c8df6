package dev.yulan.topology.config;

import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.ConfigKey;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Builds the effective configuration from, in increasing precedence: the defaults of the given {@link ConfigDef}s,
 * a properties file, environment variables ({@code YULAN_} + the key upper-cased with {@code .} and {@code -} as
 * {@code _}) and {@code --set key=value} flags.
 *
 * <p>Keys Kafka knows (Kafka Streams, producer, consumer and admin settings, bare or with the Kafka Streams
 * prefixes {@code producer.}, {@code consumer.}, {@code main.consumer.}, {@code restore.consumer.}, {@code
 * global.consumer.}, {@code admin.}, {@code topic.}) pass through to Kafka. Any other key is an error naming the
 * key and where it came from, with a suggestion when one is close; so is a value of the wrong type or range.
 * Environment variables other than {@code YULAN_*} are never read: the environment is shared with other software.
 */
public final class ConfigLoader {

    public static final String ENVIRONMENT_PREFIX = "YULAN_";

    /** {@code YULAN_*} variables the launcher uses that are not configuration keys. */
    private static final Set<String> LAUNCHER_VARIABLES = Set.of("YULAN_HOME", "YULAN_JAVA_OPTS");

    private static final String DEFAULT_ORIGIN = "default";

    /** A Kafka Streams prefix and the settings valid after it; {@code null} accepts any (topic configs). */
    private record KafkaPrefix(String prefix, ConfigDef settings) {}

    private static final List<KafkaPrefix> KAFKA_PREFIXES = List.of(
            new KafkaPrefix(StreamsConfig.MAIN_CONSUMER_PREFIX, ConsumerConfig.configDef()),
            new KafkaPrefix(StreamsConfig.RESTORE_CONSUMER_PREFIX, ConsumerConfig.configDef()),
            new KafkaPrefix(StreamsConfig.GLOBAL_CONSUMER_PREFIX, ConsumerConfig.configDef()),
            new KafkaPrefix(StreamsConfig.CONSUMER_PREFIX, ConsumerConfig.configDef()),
            new KafkaPrefix(StreamsConfig.PRODUCER_PREFIX, ProducerConfig.configDef()),
            new KafkaPrefix(StreamsConfig.ADMIN_CLIENT_PREFIX, AdminClientConfig.configDef()),
            new KafkaPrefix(StreamsConfig.TOPIC_PREFIX, null));

    private static final List<ConfigDef> KAFKA_DEFINITIONS = List.of(
            StreamsConfig.configDef(),
            ProducerConfig.configDef(),
            ConsumerConfig.configDef(),
            AdminClientConfig.configDef());

    private final ConfigDef merged = new ConfigDef();
    private final Map<String, ConfigKey> kafkaKeys = new LinkedHashMap<>();
    /** Environment variable name to key, for our keys and every Kafka key a variable can name. */
    private final Map<String, String> environmentKeys = new LinkedHashMap<>();
    /** Names offered as "did you mean" suggestions, ours first so they win ties. */
    private final List<String> suggestionCandidates = new ArrayList<>();

    /** A loader for the keys of all the given definitions; a key defined twice is a programming error. */
    public ConfigLoader(ConfigDef... definitions) {
        this(List.of(definitions));
    }

    public ConfigLoader(List<ConfigDef> definitions) {
        for (ConfigDef definition : definitions) {
            for (ConfigKey key : definition.configKeys().values()) {
                if (merged.configKeys().containsKey(key.name)) {
                    throw new IllegalArgumentException("configuration key " + key.name + " is defined twice");
                }
                merged.define(key);
                environmentKeys.put(environmentName(key.name), key.name);
                suggestionCandidates.add(key.name);
            }
        }
        for (ConfigDef definition : KAFKA_DEFINITIONS) {
            for (ConfigKey key : definition.configKeys().values()) {
                kafkaKeys.putIfAbsent(key.name, key);
                environmentKeys.putIfAbsent(environmentName(key.name), key.name);
                suggestionCandidates.add(key.name);
            }
        }
        for (KafkaPrefix prefix : KAFKA_PREFIXES) {
            if (prefix.settings() == null) {
                continue;
            }
            for (String name : prefix.settings().names()) {
                environmentKeys.putIfAbsent(environmentName(prefix.prefix() + name), prefix.prefix() + name);
                suggestionCandidates.add(prefix.prefix() + name);
            }
        }
    }

    /** The environment variable for a key: {@code metrics.port} is {@code YULAN_METRICS_PORT}. */
    public static String environmentName(String key) {
        return ENVIRONMENT_PREFIX
                + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** Loads from the file, this process's environment and the flags. */
    public EffectiveConfig load(Optional<Path> propertiesFile, List<String> setFlags) {
        return load(propertiesFile, System.getenv(), setFlags);
    }

    /**
     * Loads the effective configuration.
     *
     * @param propertiesFile a {@code .properties} file, if the user gave one
     * @param environment the environment variables (only {@code YULAN_*} are read)
     * @param setFlags the values of {@code --set} flags, each {@code key=value}
     * @throws ConfigException with a one-line message on an unknown key, a bad value or a missing required key
     */
    public EffectiveConfig load(Optional<Path> propertiesFile, Map<String, String> environment, List<String> setFlags) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        if (propertiesFile.isPresent()) {
            Path file = propertiesFile.get();
            String origin = "properties file " + file;
            Properties properties = readProperties(file);
            for (String name : new TreeSet<>(properties.stringPropertyNames())) {
                accept(settings, name.trim(), properties.getProperty(name), origin);
            }
        }
        for (var variable : new TreeMap<>(environment).entrySet()) {
            String name = variable.getKey();
            if (!name.startsWith(ENVIRONMENT_PREFIX) || LAUNCHER_VARIABLES.contains(name)) {
                continue;
            }
            String key = environmentKeys.get(name);
            if (key == null) {
                throw new ConfigException("unknown configuration key in environment variable " + name
                        + environmentSuggestion(name) + "; see ./yulan config --list");
            }
            accept(settings, key, variable.getValue(), "environment variable " + name);
        }
        for (String flag : setFlags) {
            int equals = flag.indexOf('=');
            if (equals <= 0) {
                throw new ConfigException("--set expects key=value, got '" + flag + "'");
            }
            accept(settings, flag.substring(0, equals).trim(), flag.substring(equals + 1), "--set");
        }
        return resolve(settings);
    }

    private record Setting(String value, String origin) {}

    private void accept(Map<String, Setting> settings, String key, String value, String origin) {
        ConfigKey definition = merged.configKeys().get(key);
        if (definition == null) {
            definition = kafkaDefinition(key);
        }
        if (definition == null && !isTopicSetting(key)) {
            throw new ConfigException("unknown configuration key '" + key + "' (from " + origin + ")" + suggestion(key)
                    + "; see ./yulan config --list");
        }
        if (definition != null) {
            validate(definition, key, value, origin);
        }
        settings.put(key, new Setting(value, origin));
    }

    /** The Kafka definition of a bare or prefixed Kafka key, or null. */
    private ConfigKey kafkaDefinition(String key) {
        ConfigKey bare = kafkaKeys.get(key);
        if (bare != null) {
            return bare;
        }
        for (KafkaPrefix prefix : KAFKA_PREFIXES) {
            if (prefix.settings() != null && key.startsWith(prefix.prefix())) {
                return prefix.settings()
                        .configKeys()
                        .get(key.substring(prefix.prefix().length()));
            }
        }
        return null;
    }

    /**
     * {@code topic.*} configures Kafka Streams' internal topics with a topic setting ({@code topic.segment.bytes});
     * anything else under {@code topic.} is a typo (our own keys {@code topic.prompts}, ... are checked first).
     */
    private static boolean isTopicSetting(String key) {
        return key.startsWith(StreamsConfig.TOPIC_PREFIX)
                && TOPIC_SETTINGS.contains(key.substring(StreamsConfig.TOPIC_PREFIX.length()));
    }

    /** Every topic setting Kafka's clients know: the values of {@link TopicConfig}'s {@code *_CONFIG} constants. */
    private static final Set<String> TOPIC_SETTINGS = topicSettings();

    private static Set<String> topicSettings() {
        Set<String> names = new TreeSet<>();
        for (Field field : TopicConfig.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers())
                    && field.getType() == String.class
                    && field.getName().endsWith("_CONFIG")) {
                try {
                    names.add((String) field.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return Collections.unmodifiableSet(names);
    }

    private static void validate(ConfigKey definition, String key, String value, String origin) {
        try {
            Object parsed = ConfigDef.parseType(definition.name, value, definition.type);
            if (definition.validator != null) {
                definition.validator.ensureValid(definition.name, parsed);
            }
        } catch (ConfigException e) {
            String shown = definition.type == Type.PASSWORD ? "[hidden]" : "'" + value + "'";
            throw new ConfigException(
                    "invalid value " + shown + " for " + key + " (from " + origin + "): " + reason(e, definition));
        }
    }

    private static String reason(ConfigException e, ConfigKey definition) {
        String message = String.valueOf(e.getMessage());
        String marker = "for configuration " + definition.name + ": ";
        int at = message.indexOf(marker);
        String reason = at >= 0 ? message.substring(at + marker.length()) : message;
        return reason.replace('\n', ' ');
    }

    private EffectiveConfig resolve(Map<String, Setting> settings) {
        Map<String, Object> ours = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        for (ConfigKey key : merged.configKeys().values()) {
            Setting setting = settings.get(key.name);
            if (setting != null) {
                ours.put(key.name, setting.value());
                origins.put(key.name, setting.origin());
            } else if (!key.hasDefault()) {
                throw new ConfigException("missing required configuration '" + key.name + "': set it with --set "
                        + key.name + "=..., " + environmentName(key.name) + " or in a properties file");
            } else {
                origins.put(key.name, DEFAULT_ORIGIN);
            }
        }
        Map<String, Object> values = merged.parse(ours);

        Map<String, String> kafka = new LinkedHashMap<>();
        // Our keys that are also Kafka's (bootstrap.servers, application.id, ...) reach Kafka with our defaults.
        for (ConfigKey key : merged.configKeys().values()) {
            Object value = values.get(key.name);
            if (kafkaKeys.containsKey(key.name) && value != null) {
                kafka.put(key.name, ConfigDef.convertToString(value, key.type));
            }
        }
        for (var entry : settings.entrySet()) {
            if (!merged.configKeys().containsKey(entry.getKey())) {
                kafka.put(entry.getKey(), entry.getValue().value());
                origins.put(entry.getKey(), entry.getValue().origin());
            }
        }
        return new EffectiveConfig(
                Collections.unmodifiableMap(new LinkedHashMap<>(values)),
                Collections.unmodifiableMap(kafka),
                Collections.unmodifiableMap(origins));
    }

    private static Properties readProperties(Path file) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (NoSuchFileException e) {
            throw new ConfigException("cannot read properties file " + file + ": no such file");
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("cannot read properties file " + file + ": " + e.getMessage());
        }
        return properties;
    }

    private String suggestion(String key) {
        return closest(key, suggestionCandidates)
                .map(name -> "; did you mean '" + name + "'?")
                .orElse("");
    }

    private String environmentSuggestion(String variable) {
        return closest(variable, List.copyOf(environmentKeys.keySet()))
                .map(name -> "; did you mean " + name + "?")
                .orElse("");
    }

    /** The candidate at the smallest edit distance, if it is close enough to be a typo. */
    private static Optional<String> closest(String name, List<String> candidates) {
        int limit = Math.max(1, Math.min(3, name.length() / 4));
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            if (Math.abs(candidate.length() - name.length()) > limit) {
                continue;
            }
            int distance = editDistance(name.toLowerCase(Locale.ROOT), candidate.toLowerCase(Locale.ROOT));
            if (distance < bestDistance) {
                bestDistance = distance;
                best = candidate;
            }
        }
        return bestDistance <= limit ? Optional.of(best) : Optional.empty();
    }

    /** Levenshtein distance, with a transposition of neighbours counted as one edit. */
    private static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /** One documented key, as {@code ./yulan config --list} shows it. */
    public record KeyDescription(
            String name,
            String type,
            String defaultValue,
            String validValues,
            String environmentVariable,
            String documentation) {}

    /** Every key of the merged definitions, sorted by name. */
    public List<KeyDescription> list() {
        return merged.configKeys().values().stream()
                .filter(key -> !key.internalConfig)
                .sorted(Comparator.comparing(key -> key.name))
                .map(key -> new KeyDescription(
                        key.name,
                        key.type.name().toLowerCase(Locale.ROOT),
                        defaultText(key),
                        key.validator == null ? "" : key.validator.toString(),
                        environmentName(key.name),
                        key.documentation == null ? "" : key.documentation))
                .toList();
    }

    private static String defaultText(ConfigKey key) {
        if (!key.hasDefault()) {
            return "(required)";
        }
        if (key.defaultValue == null) {
            return "(none)";
        }
        if (key.type == Type.PASSWORD) {
            return "[hidden]";
        }
        String text = ConfigDef.convertToString(key.defaultValue, key.type);
        return text.isEmpty() ? "\"\"" : text;
    }

    /** A table of every key: name, type, default and meaning (with the valid values), wrapped to fit a terminal. */
    public String describe() {
        List<KeyDescription> keys = list();
        int nameWidth =
                Math.max(3, keys.stream().mapToInt(k -> k.name().length()).max().orElse(0));
        int typeWidth =
                Math.max(4, keys.stream().mapToInt(k -> k.type().length()).max().orElse(0));
        int defaultWidth = Math.min(
                28,
                Math.max(
                        7,
                        keys.stream()
                                .mapToInt(k -> k.defaultValue().length())
                                .max()
                                .orElse(0)));
        String format = "%-" + nameWidth + "s  %-" + typeWidth + "s  %-" + defaultWidth + "s  %s%n";
        int indent = nameWidth + typeWidth + defaultWidth + 6;
        int meaningWidth = Math.max(40, 120 - indent);
        StringBuilder out = new StringBuilder();
        out.append(String.format(format, "KEY", "TYPE", "DEFAULT", "MEANING"));
        for (KeyDescription key : keys) {
            // "non-empty string" says nothing a reader would not assume.
            boolean worthShowing =
                    !key.validValues().isEmpty() && !key.validValues().equals("non-empty string");
            String meaning = key.documentation() + (worthShowing ? " Valid values: " + key.validValues() + "." : "");
            List<String> lines = wrap(meaning, meaningWidth);
            String shownDefault = key.defaultValue().length() > defaultWidth
                    ? key.defaultValue().substring(0, defaultWidth - 3) + "..."
                    : key.defaultValue();
            out.append(String.format(format, key.name(), key.type(), shownDefault, lines.getFirst()));
            for (String line : lines.subList(1, lines.size())) {
                out.append(" ".repeat(indent)).append(line).append('\n');
            }
        }
        out.append('\n')
                .append("Precedence, lowest first: defaults, the properties file (--config FILE), environment\n")
                .append("variables (YULAN_ + the key upper-cased with . and - as _, e.g. YULAN_METRICS_PORT),\n")
                .append("--set key=value flags.\n")
                .append("Kafka Streams, producer, consumer and admin settings pass through to Kafka, bare or with\n")
                .append("the prefixes producer., consumer., main.consumer., restore.consumer., global.consumer.,\n")
                .append("admin. and topic. (e.g. num.stream.threads=2, producer.linger.ms=5).\n");
        return out.toString();
    }

    private static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split("\\s+")) {
            if (!line.isEmpty() && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (!line.isEmpty()) {
                line.append(' ');
            }
            line.append(word);
        }
        lines.add(line.toString());
        return lines;
    }

    /**
     * The loaded configuration.
     *
     * @param values every key of the merged definitions, parsed to its type (defaults filled in)
     * @param kafka the settings for Kafka Streams and its clients, as strings: pass-through keys plus our keys that
     *     Kafka also knows ({@code bootstrap.servers}, {@code application.id}, {@code state.dir})
     * @param origins where each set key came from: {@code default}, {@code properties file F}, {@code environment
     *     variable V} or {@code --set}
     */
    public record EffectiveConfig(Map<String, Object> values, Map<String, String> kafka, Map<String, String> origins) {

        public Object get(String key) {
            if (!values.containsKey(key)) {
                throw new IllegalArgumentException("no configuration key " + key);
            }
            return values.get(key);
        }

        public String getString(String key) {
            return (String) get(key);
        }

        public int getInt(String key) {
            return (Integer) get(key);
        }

        public long getLong(String key) {
            return (Long) get(key);
        }

        public double getDouble(String key) {
            return (Double) get(key);
        }

        public boolean getBoolean(String key) {
            return (Boolean) get(key);
        }

        @SuppressWarnings("unchecked")
        public List<String> getList(String key) {
            return (List<String>) get(key);
        }

        /** Where the key's value came from. */
        public String origin(String key) {
            return origins.getOrDefault(key, DEFAULT_ORIGIN);
        }

        /** A fresh copy of {@link #kafka()} for {@code new KafkaStreams(topology, properties)}. */
        public Properties kafkaProperties() {
            Properties properties = new Properties();
            properties.putAll(kafka);
            return properties;
        }
    }
}
