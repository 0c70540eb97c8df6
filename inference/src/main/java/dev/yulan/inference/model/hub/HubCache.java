package dev.yulan.inference.model.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache, in the layout every Hugging Face tool shares: {@code
 * models--owner--name/refs/<revision>} holds a commit hash, {@code snapshots/<commit>/<file>} links to {@code
 * blobs/<etag>}, downloads in progress are {@code blobs/<etag>.incomplete}, and {@code .locks/} serializes
 * processes downloading the same blob.
 */
final class HubCache {

    static final String CONFIG = "config.json";
    static final String TOKENIZER = "tokenizer.json";
    static final String WEIGHTS = "model.safetensors";
    static final String WEIGHTS_INDEX = "model.safetensors.index.json";

    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;

    HubCache(Path root) {
        this.root = root;
    }

    Path root() {
        return root;
    }

    Path repository(HubId id) {
        return root.resolve(id.cacheFolder());
    }

    /** The commit the id's revision points to in the cache, if the cache knows it. */
    Optional<String> commit(HubId id) {
        if (id.revisionIsCommit()) {
            return Optional.of(id.revision());
        }
        Path ref = repository(id).resolve("refs").resolve(id.revision());
        try {
            if (!Files.isRegularFile(ref)) {
                return Optional.empty();
            }
            String commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
            return COMMIT.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    Path snapshot(HubId id, String commit) {
        return repository(id).resolve("snapshots").resolve(commit);
    }

    Path blob(HubId id, String etag) {
        return repository(id).resolve("blobs").resolve(etag);
    }

    Path incomplete(HubId id, String etag) {
        return repository(id).resolve("blobs").resolve(etag + ".incomplete");
    }

    Path lock(HubId id, String etag) {
        return root.resolve(".locks").resolve(id.cacheFolder()).resolve(etag + ".lock");
    }

    /** Files a snapshot still lacks to be loadable: config, tokenizer and every weight file. */
    List<String> missingFiles(Path snapshot) {
        List<String> missing = new ArrayList<>();
        for (String file : List.of(CONFIG, TOKENIZER)) {
            if (!Files.isRegularFile(snapshot.resolve(file))) {
                missing.add(file);
            }
        }
        if (Files.isRegularFile(snapshot.resolve(WEIGHTS))) {
            return missing;
        }
        Path index = snapshot.resolve(WEIGHTS_INDEX);
        if (!Files.isRegularFile(index)) {
            missing.add(WEIGHTS);
            return missing;
        }
        for (String shard : shards(index)) {
            if (!Files.isRegularFile(snapshot.resolve(shard))) {
                missing.add(shard);
            }
        }
        return missing;
    }

    /** The shard files a {@code model.safetensors.index.json} names, in order of first mention. */
    static Set<String> shards(Path index) {
        JsonNode weightMap;
        try {
            weightMap = JSON.readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new ModelResolutionException("cannot read " + index + ": " + e.getMessage(), e);
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new ModelResolutionException(index + " has no weight_map");
        }
        Set<String> shards = new LinkedHashSet<>();
        for (JsonNode file : weightMap) {
            String name = file.asText();
            if (name.isEmpty() || name.startsWith("/") || name.contains("..")) {
                throw new ModelResolutionException(index + " names an invalid shard file: " + name);
            }
            shards.add(name);
        }
        return shards;
    }

    /** Points {@code snapshots/<commit>/<file>} at the blob, relatively, as the Python tools do. */
    void link(HubId id, String commit, String file, String etag) {
        Path target = snapshot(id, commit).resolve(file);
        Path blob = blob(id, etag);
        try {
            Files.createDirectories(target.getParent());
            Path relative = target.getParent().relativize(blob);
            if (Files.isSymbolicLink(target) && Files.readSymbolicLink(target).equals(relative)) {
                return;
            }
            // Made under a temporary name and renamed over the target, so concurrent resolvers never collide.
            Path temp = target.resolveSibling(
                    "." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                            + Thread.currentThread().threadId() + ".tmp");
            Files.deleteIfExists(temp);
            try {
                Files.createSymbolicLink(temp, relative);
            } catch (UnsupportedOperationException | FileSystemException e) {
                // File systems without symbolic links get a copy, as huggingface_hub does.
                Files.copy(blob, temp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot link " + target + " to " + blob + ": " + e.getMessage(), e);
        }
    }

    /** Records that the revision (a branch or tag) points at the commit. */
    void writeRef(HubId id, String commit) {
        if (id.revisionIsCommit()) {
            return;
        }
        Path ref = repository(id).resolve("refs").resolve(id.revision());
        try {
            Files.createDirectories(ref.getParent());
            Path temp = Files.createTempFile(ref.getParent(), ".ref", ".tmp");
            Files.writeString(temp, commit, StandardCharsets.UTF_8);
            Files.move(temp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + ref + ": " + e.getMessage(), e);
        }
    }
}
