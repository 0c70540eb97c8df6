package dev.yulan.inference.model;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/**
 * Large off-heap buffers for weights built in memory. {@link Arena#allocate} zero-fills on the calling thread, which
 * for a 5 GB model costs seconds before any work starts; an anonymous {@code mmap} gets zero pages from the kernel
 * lazily, so they are faulted in by the threads that fill them, in parallel, and can use transparent huge pages. Falls
 * back to {@link Arena#allocate} where {@code mmap} is unavailable.
 */
final class AnonymousMemory {

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    /** Below this, the plain allocator is as good. */
    private static final long MIN_MAPPED_BYTES = 1L << 21;

    private static final Optional<MethodHandle> MMAP = function(
            "mmap",
            FunctionDescriptor.of(
                    ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG));
    private static final Optional<MethodHandle> MUNMAP =
            function("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final Optional<MethodHandle> MADVISE = function(
            "madvise",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private AnonymousMemory() {}

    private static Optional<MethodHandle> function(String name, FunctionDescriptor descriptor) {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return Optional.empty();
        }
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(address -> linker.downcallHandle(address, descriptor));
    }

    /** {@code bytes} of zeroed memory, page-aligned, released when {@code arena} closes. */
    static MemorySegment allocate(long bytes, Arena arena) {
        if (bytes < MIN_MAPPED_BYTES || MMAP.isEmpty() || MUNMAP.isEmpty()) {
            return arena.allocate(bytes, 64);
        }
        MemorySegment address;
        try {
            address = (MemorySegment)
                    MMAP.get().invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            return arena.allocate(bytes, 64);
        }
        if (address.address() == -1L) {
            return arena.allocate(bytes, 64);
        }
        if (MADVISE.isPresent()) {
            try {
                int ignored = (int) MADVISE.get().invokeExact(address, bytes, MADV_HUGEPAGE);
            } catch (Throwable t) {
                // only a hint
            }
        }
        MethodHandle munmap = MUNMAP.get();
        return address.reinterpret(bytes, arena, segment -> {
            try {
                int ignored = (int) munmap.invokeExact(MemorySegment.ofAddress(segment.address()), bytes);
            } catch (Throwable t) {
                throw new IllegalStateException("munmap failed", t);
            }
        });
    }
}
