package refpos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * How long a Java host takes to get from "I have a plugin path" to an open
 * store, for tools/bench/sdk/run:
 *
 * <pre>java -cp CLASSES:/usr/share/java/jna.jar refpos.LoadTime PLUGIN N</pre>
 *
 * Each of N timed rounds (after WARMUP untimed ones, in the same JVM) does
 * Refpos.load (NativeLibrary.getInstance + getFunction("refpos_get_api")),
 * refpos_get_api and reading the table, open of a new store in a fresh temp
 * folder, and close. Only the very first load in the JVM really dlopens the
 * library: JNA caches it by path (and dlopen of a loaded library only counts
 * a reference), so the rounds measure what a host pays per store once the
 * library is in memory, not the cold load. Deleting the folder is outside
 * the timing.
 *
 * Prints one line: {@code java load+open median_ms=1.234 p90_ms=2.345}.
 *
 * <pre>java -cp CLASSES:/usr/share/java/jna.jar refpos.LoadTime --once PLUGIN DIR</pre>
 *
 * times one cold round in this fresh JVM (the library's first load, as C and
 * Python hosts pay it at start-up) with DIR as the store's folder, and prints
 * the milliseconds alone, like tools/bench/sdk's C and Python loaders.
 */
public final class LoadTime {
    static final int WARMUP = 20;

    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("--once")) {
            System.out.printf(Locale.ROOT, "%.3f%n", round(args[1], Path.of(args[2])) / 1e6);
            return;
        }
        if (args.length != 2) {
            System.err.println("usage: java -cp CLASSES:jna.jar refpos.LoadTime PLUGIN N");
            System.exit(2);
        }
        String plugin = args[0];
        int n;
        try {
            n = Integer.parseInt(args[1]);
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1) {
            System.err.println("N must be a positive integer, got " + args[1]);
            System.exit(2);
        }
        Path root = Files.createTempDirectory("refpos-loadtime-");
        try {
            for (int i = 0; i < WARMUP; i++) {
                round(plugin, root.resolve("warm-" + i));
            }
            double[] ms = new double[n];
            for (int i = 0; i < n; i++) {
                ms[i] = round(plugin, root.resolve("run-" + i)) / 1e6;
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "java load+open median_ms=%.3f p90_ms=%.3f%n",
                median(ms), percentile(ms, 90));
        } finally {
            CheckoutDemo.deleteTree(root);
        }
    }

    /** One timed round, in nanoseconds; the store's folder is deleted afterwards, untimed. */
    private static long round(String plugin, Path dataDir) throws IOException {
        long start = System.nanoTime();
        Refpos refpos = Refpos.load(plugin);
        refpos.open(CheckoutDemo.config(dataDir.toString())).close();
        long elapsed = System.nanoTime() - start;
        CheckoutDemo.deleteTree(dataDir);
        return elapsed;
    }

    /** Median of sorted values (mean of the middle two for an even count). */
    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
