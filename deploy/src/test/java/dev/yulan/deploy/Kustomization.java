package dev.yulan.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * A kustomization rendered the way {@code kubectl kustomize} renders the parts these manifests use: resources (files
 * and bases), {@code configMapGenerator} files, patches (strategic merge for built-in kinds: lists of named objects
 * merge by name; custom resources: lists replace) and {@code images}. Enough to check the invariants of what would
 * be applied, without a cluster or the kustomize binary.
 *
 * @param directory the kustomization's directory
 * @param resources every rendered resource
 * @param configMapFiles the file behind each generated ConfigMap key, as {@code configMapName/key}
 */
record Kustomization(Path directory, List<ObjectNode> resources, Map<String, Path> configMapFiles) {

    static Kustomization load(Path directory) {
        YAMLMapper yaml = new YAMLMapper();
        JsonNode kustomization = readTree(yaml, directory.resolve("kustomization.yaml"));
        List<ObjectNode> resources = new ArrayList<>();
        Map<String, Path> configMapFiles = new LinkedHashMap<>();
        for (JsonNode resource : kustomization.path("resources")) {
            Path path = directory.resolve(resource.asText()).normalize();
            if (Files.isDirectory(path)) {
                Kustomization base = load(path);
                base.resources().forEach(r -> resources.add(r.deepCopy()));
                configMapFiles.putAll(base.configMapFiles());
            } else {
                resources.addAll(readDocuments(yaml, path));
            }
        }
        for (JsonNode generator : kustomization.path("configMapGenerator")) {
            String name = generator.path("name").asText();
            String behavior = generator.path("behavior").asText("create");
            if (behavior.equals("replace")) {
                configMapFiles.keySet().removeIf(key -> key.startsWith(name + "/"));
            }
            for (JsonNode file : generator.path("files")) {
                String spec = file.asText();
                int equals = spec.indexOf('=');
                String key = equals < 0 ? Path.of(spec).getFileName().toString() : spec.substring(0, equals);
                Path path = directory.resolve(equals < 0 ? spec : spec.substring(equals + 1));
                if (!Files.isRegularFile(path)) {
                    throw new IllegalStateException(directory + ": configMapGenerator file " + path + " is missing");
                }
                configMapFiles.put(name + "/" + key, path);
            }
        }
        for (JsonNode patch : kustomization.path("patches")) {
            for (ObjectNode document :
                    readDocuments(yaml, directory.resolve(patch.path("path").asText()))) {
                String kind = document.path("kind").asText();
                String name = document.path("metadata").path("name").asText();
                ObjectNode target = resources.stream()
                        .filter(r -> r.path("kind").asText().equals(kind)
                                && r.path("metadata").path("name").asText().equals(name))
                        .findFirst()
                        .orElseThrow(() -> new NoSuchElementException(
                                directory + ": patch for " + kind + "/" + name + " has no target"));
                merge(target, document, !isCustomResource(target));
            }
        }
        for (JsonNode image : kustomization.path("images")) {
            String reference = image.path("newName").asText(image.path("name").asText()) + ":"
                    + image.path("newTag").asText("latest");
            for (ObjectNode resource : resources) {
                for (JsonNode container :
                        resource.path("spec").path("template").path("spec").path("containers")) {
                    if (container
                            .path("image")
                            .asText()
                            .equals(image.path("name").asText())) {
                        ((ObjectNode) container).put("image", reference);
                    }
                }
            }
        }
        return new Kustomization(directory, List.copyOf(resources), Map.copyOf(configMapFiles));
    }

    /** The one resource of this kind. */
    ObjectNode single(String kind) {
        List<ObjectNode> found = all(kind);
        if (found.size() != 1) {
            throw new IllegalStateException(directory + ": expected one " + kind + ", found " + found.size());
        }
        return found.getFirst();
    }

    List<ObjectNode> all(String kind) {
        return resources.stream()
                .filter(r -> r.path("kind").asText().equals(kind))
                .toList();
    }

    /** Every YAML document of a file, as objects (empty documents skipped). */
    static List<ObjectNode> readDocuments(YAMLMapper yaml, Path file) {
        try (var parser = yaml.createParser(file.toFile())) {
            List<ObjectNode> documents = new ArrayList<>();
            var iterator = yaml.readValues(parser, JsonNode.class);
            while (iterator.hasNext()) {
                JsonNode document = iterator.next();
                if (document == null || document.isMissingNode() || document.isNull()) {
                    continue;
                }
                if (!(document instanceof ObjectNode object)) {
                    throw new IllegalStateException(file + ": a document is not a mapping");
                }
                documents.add(object);
            }
            return documents;
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readTree(YAMLMapper yaml, Path file) {
        try {
            return yaml.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    private static boolean isCustomResource(JsonNode resource) {
        String apiVersion = resource.path("apiVersion").asText();
        return apiVersion.contains(".") && !apiVersion.endsWith(".k8s.io/v1") && !apiVersion.startsWith("apps/");
    }

    /** A strategic merge: objects merge, lists of named objects merge by name when {@code byName}, the rest replace. */
    private static void merge(ObjectNode target, JsonNode patch, boolean byName) {
        for (var field : patch.properties()) {
            JsonNode existing = target.get(field.getKey());
            JsonNode value = field.getValue();
            if (existing instanceof ObjectNode object && value.isObject()) {
                merge(object, value, byName);
            } else if (byName && existing instanceof ArrayNode list && isNamedList(value) && isNamedList(list)) {
                for (JsonNode element : value) {
                    ObjectNode match = null;
                    for (JsonNode candidate : list) {
                        if (candidate.path("name").equals(element.path("name"))) {
                            match = (ObjectNode) candidate;
                        }
                    }
                    if (match != null) {
                        merge(match, element, true);
                    } else {
                        list.add(element.deepCopy());
                    }
                }
            } else {
                target.set(field.getKey(), value.deepCopy());
            }
        }
    }

    private static boolean isNamedList(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            return false;
        }
        for (JsonNode element : node) {
            if (!element.isObject() || !element.has("name")) {
                return false;
            }
        }
        return true;
    }
}
