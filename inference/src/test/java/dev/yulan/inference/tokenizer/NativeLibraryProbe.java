package dev.yulan.inference.tokenizer;

import java.nio.file.Path;
import java.util.Arrays;

/** Run in a fresh JVM by {@link NativeLibraryTest}: loads a tokenizer and prints one encoding. */
public final class NativeLibraryProbe {
    private NativeLibraryProbe() {}

    public static void main(String[] args) {
        try (Tokenizer tokenizer = Tokenizer.load(Path.of(args[0]))) {
            System.out.println(Arrays.toString(tokenizer.encode("Once upon a time", false)));
            System.out.println("OPT_OUT_TRACKING=" + System.getProperty("OPT_OUT_TRACKING"));
        }
    }
}
