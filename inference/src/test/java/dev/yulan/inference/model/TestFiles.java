package dev.yulan.inference.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Helpers shared by the model tests: the bundled model's location and hand-made safetensors files. */
final class TestFiles {

    private TestFiles() {}

    /** {@code models/stories260K} of the project, found from the test's working directory upwards. */
    static Path stories260K() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve("models/stories260K");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException(
                "models/stories260K not found above " + Path.of("").toAbsolutePath());
    }

    /** Writes a safetensors file: the 8-byte length, {@code header} as given, then {@code dataBytes} zero bytes. */
    static Path safetensors(Path file, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(json.length).put(json);
        Files.write(file, buf.array());
        return file;
    }
}
