package dev.yulan.inference.kernel.bench;

public final class TileProbe {
    private TileProbe() {}

    public static void main(String[] args) throws Exception {
        dev.yulan.inference.kernel.TileProbeAccess.main(args);
    }
}
