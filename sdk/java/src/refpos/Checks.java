package refpos;

import java.util.function.Supplier;

/**
 * The checks of a test program (CallCheck, SyncCheck): each step and check
 * is printed, and {@link #exit(String)} ends the JVM with 0 only if at least
 * one check ran and none failed. An unexpected exception is a failed check,
 * not a crash, so the summary line always comes.
 */
final class Checks {
    /** The body of a test program. */
    interface Body {
        void run(Checks checks) throws Exception;
    }

    private int count;
    private int failures;

    /** Runs {@code body}, prints "NAME: n checks, m failed" and exits 0 or 1. */
    static void runAndExit(String name, Body body) {
        Checks checks = new Checks();
        try {
            body.run(checks);
        } catch (Throwable t) {
            checks.failures++;
            System.out.println("FAIL unexpected " + t);
            t.printStackTrace(System.out);
        }
        System.out.printf("%s: %d checks, %d failed%n", name, checks.count, checks.failures);
        System.exit(checks.failures == 0 && checks.count > 0 ? 0 : 1);
    }

    void step(String what) {
        System.out.println("== " + what);
    }

    /** Counts and prints one check; returns {@code ok}. */
    boolean check(boolean ok, String what) {
        count++;
        if (!ok) {
            failures++;
        }
        System.out.println((ok ? "  ok   " : "  FAIL ") + what);
        return ok;
    }

    /** Runs a call that should throw a RefposException and prints it; null (check it) if it did not throw. */
    static RefposException expectFailure(Supplier<?> call) {
        return expectThrown(RefposException.class, call);
    }

    /** Runs a call that should throw a {@code type}; null if it returned (another exception propagates). */
    static <T extends Throwable> T expectThrown(Class<T> type, Supplier<?> call) {
        try {
            Object answer = call.get();
            System.out.println("  returned instead of throwing: " + answer);
            return null;
        } catch (Throwable t) {
            if (!type.isInstance(t)) {
                throw t;
            }
            System.out.println("  threw " + t);
            return type.cast(t);
        }
    }
}
