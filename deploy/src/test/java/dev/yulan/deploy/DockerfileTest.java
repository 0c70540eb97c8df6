package dev.yulan.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.yulan.topology.cli.YulanCli;
import dev.yulan.topology.config.RuntimeConfig;
import java.lang.module.ModuleFinder;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DockerfileTest {

    static final Path DOCKERFILE = Path.of("Dockerfile");
    static final Path REPOSITORY = Path.of("..");

    private final Dockerfile dockerfile = Dockerfile.parse(DOCKERFILE);

    /** The image's numeric user id (the final stage's USER), which the pod security context must match. */
    static long imageUserId() {
        String user = Dockerfile.parse(DOCKERFILE).finalStage().last("USER").orElseThrow();
        return Long.parseLong(user.split(":")[0]);
    }

    static List<String> entrypoint(Dockerfile dockerfile) throws Exception {
        String json = dockerfile.finalStage().last("ENTRYPOINT").orElseThrow();
        return new ObjectMapper().readValue(json, new TypeReference<List<String>>() {});
    }

    @Test
    void buildsWithMavenThenJlinksThenRunsOnASlimBase() {
        assertThat(dockerfile.stages()).hasSizeGreaterThanOrEqualTo(3);
        assertThat(dockerfile.stages().stream()
                        .filter(s -> s.arguments("RUN").stream()
                                .anyMatch(run -> run.contains("mvn ")
                                        && run.contains("package")
                                        && run.contains("-DskipTests"))))
                .as("a stage builds the jars with mvn -DskipTests package")
                .isNotEmpty();
        assertThat(jlinkStage().arguments("RUN")).anyMatch(run -> run.contains("jlink "));
        assertThat(dockerfile.finalStage().arguments("RUN")).noneMatch(run -> run.contains("mvn "));
        Set<String> stageNames =
                dockerfile.stages().stream().map(Dockerfile.Stage::name).collect(Collectors.toSet());
        for (Dockerfile.Stage stage : dockerfile.stages()) {
            for (String copy : stage.arguments("COPY")) {
                Matcher from = Pattern.compile("--from=(\\S+)").matcher(copy);
                if (from.find()) {
                    assertThat(stageNames).as("COPY %s names a stage", copy).contains(from.group(1));
                }
            }
        }
        assertThat(dockerfile.finalStage().arguments("COPY"))
                .as("the runtime copies the jlinked runtime")
                .anyMatch(copy -> copy.startsWith("--from=" + jlinkStage().name() + " "));
    }

    @Test
    void jlinkAddsTheVectorModuleAndEveryModuleTheOperatorUses() throws Exception {
        Set<String> modules = jlinkModules();
        // Each module the operator needs, taken from a class it uses rather than typed in.
        Set<String> needed = Set.of(
                "jdk.incubator.vector",
                HttpServer.class.getModule().getName(), // the metrics endpoint
                HttpClient.class.getModule().getName(), // hub downloads
                Class.forName("com.sun.management.OperatingSystemMXBean")
                        .getModule()
                        .getName(), // process metrics
                java.lang.management.ManagementFactory.class.getModule().getName(),
                java.beans.Introspector.class.getModule().getName(), // Jinjava's bean access
                Class.forName("sun.misc.Unsafe").getModule().getName(), // Kafka, Avro, compression codecs
                javax.security.sasl.Sasl.class.getModule().getName(), // Kafka SASL logins
                java.util.logging.Logger.class.getModule().getName(),
                javax.naming.Context.class.getModule().getName(),
                java.sql.Timestamp.class.getModule().getName(),
                javax.xml.parsers.DocumentBuilderFactory.class.getModule().getName());
        assertThat(modules).containsAll(needed);
        Set<String> system = ModuleFinder.ofSystem().findAll().stream()
                .map(reference -> reference.descriptor().name())
                .collect(Collectors.toSet());
        assertThat(system).as("every jlinked module exists in JDK 25").containsAll(modules);
    }

    @Test
    void entrypointRunsTheOperatorWithTheVectorModuleAndNativeAccess() throws Exception {
        List<String> command = entrypoint(dockerfile);
        assertThat(command.getFirst()).endsWith("/bin/java");
        assertThat(addedModules(command)).contains("jdk.incubator.vector");
        assertThat(command).contains("--enable-native-access=ALL-UNNAMED");
        int main = command.indexOf(YulanCli.class.getName());
        assertThat(main).as("the main class is YulanCli").isPositive();
        assertThat(command.subList(main + 1, command.size())).containsExactly("run");
        assertThat(command.subList(0, main))
                .as("a small heap: the weights and KV cache are off-heap")
                .anyMatch(flag -> flag.startsWith("-Xmx") || maxRamPercentageAtMost(flag, 25));
        // The runtime the entrypoint starts is the jlinked one.
        String javaHome = command.getFirst().substring(0, command.getFirst().length() - "/bin/java".length());
        Matcher output = Pattern.compile("--output (\\S+)")
                .matcher(String.join(" ", jlinkStage().arguments("RUN")));
        assertThat(output.find()).as("jlink --output").isTrue();
        assertThat(dockerfile.finalStage().arguments("COPY"))
                .contains("--from=" + jlinkStage().name() + " " + output.group(1) + " " + javaHome);
    }

    @Test
    void runsAsAFixedNonRootUser() {
        assertThat(imageUserId()).isPositive();
        String user = dockerfile.finalStage().last("USER").orElseThrow();
        assertThat(user).as("numeric, so Kubernetes can verify runAsNonRoot").matches("\\d+(:\\d+)?");
        assertThat(dockerfile.finalStage().arguments("RUN"))
                .as("the user is created with that uid")
                .anyMatch(run -> run.contains("--uid " + imageUserId()) || run.contains("--uid \"" + imageUserId()));
    }

    @Test
    void copiesTheBundledModelWhereTheOperatorLooksForIt() throws Exception {
        String home = entrypoint(dockerfile).stream()
                .filter(flag -> flag.startsWith("-Dyulan.home="))
                .map(flag -> flag.substring("-Dyulan.home=".length()))
                .findFirst()
                .orElseThrow();
        String bundled = "models/" + RuntimeConfig.BUNDLED_MODEL;
        assertThat(dockerfile.finalStage().arguments("COPY")).contains(bundled + " " + home + "/" + bundled);
        assertThat(REPOSITORY.resolve(bundled).resolve("config.json")).isRegularFile();
        assertThat(Files.readString(Path.of("Dockerfile.dockerignore")))
                .as("the build context keeps the bundled model")
                .contains("!" + bundled);
    }

    @Test
    void declaresTheModelAndStateVolumes() {
        String volumes = String.join(" ", dockerfile.finalStage().arguments("VOLUME"));
        assertThat(volumes).contains("\"/models\"").contains("\"/var/lib/yulan\"");
    }

    @Test
    void classpathCoversTheCopiedJars() throws Exception {
        List<String> command = entrypoint(dockerfile);
        String classpath = command.get(command.indexOf("-cp") + 1);
        for (String copy : dockerfile.finalStage().arguments("COPY")) {
            if (copy.startsWith("--from=build ")) {
                String destination = copy.substring(copy.lastIndexOf(' ') + 1);
                assertThat(classpath).contains(destination + "/*");
            }
        }
    }

    private Dockerfile.Stage jlinkStage() {
        return dockerfile.stages().stream()
                .filter(s -> s.arguments("RUN").stream().anyMatch(run -> run.contains("jlink ")))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no stage runs jlink"));
    }

    private Set<String> jlinkModules() {
        String run = jlinkStage().arguments("RUN").stream()
                .filter(r -> r.contains("jlink "))
                .findFirst()
                .orElseThrow();
        Matcher matcher = Pattern.compile("--add-modules[ =]\"?([^\"\\s]+)\"?").matcher(run);
        assertThat(matcher.find()).as("jlink --add-modules").isTrue();
        return Arrays.stream(matcher.group(1).split(",")).map(String::strip).collect(Collectors.toSet());
    }

    private static Set<String> addedModules(List<String> command) {
        Set<String> modules = new java.util.HashSet<>();
        for (int i = 0; i < command.size(); i++) {
            String flag = command.get(i);
            String value = flag.equals("--add-modules") && i + 1 < command.size()
                    ? command.get(i + 1)
                    : flag.startsWith("--add-modules=") ? flag.substring("--add-modules=".length()) : null;
            if (value != null) {
                modules.addAll(Arrays.asList(value.split(",")));
            }
        }
        return modules;
    }

    private static boolean maxRamPercentageAtMost(String flag, double percent) {
        String prefix = "-XX:MaxRAMPercentage=";
        return flag.startsWith(prefix) && Double.parseDouble(flag.substring(prefix.length())) <= percent;
    }
}
