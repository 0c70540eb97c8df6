package dev.yulan.inference.model.hub;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model repository on the Hugging Face hub and the revision wanted: {@code owner/name} or {@code
 * owner/name@revision} (a branch, tag or commit; {@code main} when absent).
 */
public record HubId(String owner, String name, String revision) {

    private static final Pattern SPEC =
            Pattern.compile("([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._/-]+))?");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    public static final String DEFAULT_REVISION = "main";

    public HubId {
        if (owner.contains("--") || name.contains("--") || owner.endsWith(".") || name.endsWith(".")) {
            throw new IllegalArgumentException("not a hub repository id: " + owner + "/" + name);
        }
        if (revision.isEmpty() || revision.contains("..") || revision.startsWith("/") || revision.endsWith("/")) {
            throw new IllegalArgumentException("not a revision: " + revision);
        }
    }

    /** The id this spec names, or empty if it is not of the form {@code owner/name[@revision]}. */
    public static Optional<HubId> parse(String spec) {
        Matcher matcher = SPEC.matcher(spec);
        if (!matcher.matches()) {
            return Optional.empty();
        }
        String revision = matcher.group(3) != null ? matcher.group(3) : DEFAULT_REVISION;
        try {
            return Optional.of(new HubId(matcher.group(1), matcher.group(2), revision));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** {@code owner/name}, as in hub URLs. */
    public String repository() {
        return owner + "/" + name;
    }

    /** The repository's folder in the cache: {@code models--owner--name}. */
    public String cacheFolder() {
        return "models--" + owner + "--" + name;
    }

    /** Whether the revision is a full commit hash rather than a branch or tag. */
    public boolean revisionIsCommit() {
        return COMMIT.matcher(revision).matches();
    }

    @Override
    public String toString() {
        return revision.equals(DEFAULT_REVISION) ? repository() : repository() + "@" + revision;
    }
}
