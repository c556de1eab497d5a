package refpos;

import com.sun.jna.Callback;
import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open store: one refpos_store handle. Requests and answers are JSON
 * documents as text (docs/api.md, sdk/schema/v1/).
 *
 * <p>Every status other than OK throws {@link RefposException} with the
 * plugin's message ({@code last_error}) and the answer document the call
 * handed back. Every buffer the plugin hands out is released with
 * {@code free_buffer}, also when reading it fails.
 *
 * <p>Thread-safe: calls may come from any thread at once (the plugin
 * serialises them per handle). {@link #close()} waits for calls in flight,
 * may be called more than once, and after it every call throws BAD_HANDLE
 * without reaching the plugin, so a closed store never becomes a dangling
 * handle in C.
 *
 * <p>{@link #sync}'s progress callback runs on the syncing thread, inside the
 * plugin's sync: it must not use this store (refpos.h), so every call it
 * makes on it, {@link #close()} included, throws IllegalStateException
 * (which {@link #sync} then rethrows).
 */
public final class Store implements AutoCloseable {
    private final Refpos plugin; // keeps the library and its table alive
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private Pointer handle; // null once closed; guarded by lock
    // True on the thread whose sync is in the plugin: its progress callback
    // must not reach the plugin with this handle (and close() would wait for
    // that very sync).
    private final ThreadLocal<Boolean> reportingProgress = ThreadLocal.withInitial(() -> Boolean.FALSE);

    Store(Refpos plugin, Pointer handle) {
        this.plugin = plugin;
        this.handle = handle;
    }

    /** What a cart and code would get; changes nothing (preview.request/answer). */
    public String preview(String requestJson) {
        return exchange(plugin.preview, null, requestJson);
    }

    /** Records a paid transaction; idempotent on txn_id (commit.request/answer). */
    public String commit(String requestJson) {
        return exchange(plugin.commit, null, requestJson);
    }

    /** Voids or refunds a committed transaction (reverse.request/answer). */
    public String reverse(String requestJson) {
        return exchange(plugin.reverse, null, requestJson);
    }

    /** Issues (or returns) a customer's referral code (issue_code.request/answer). */
    public String issueCode(String requestJson) {
        return exchange(plugin.issueCode, null, requestJson);
    }

    /** Looks up a customer, their wallet and codes (customer.request/answer). */
    public String customer(String requestJson) {
        return exchange(plugin.customer, null, requestJson);
    }

    /**
     * What to print for a committed transaction (ABI 1.1): the bytes of a
     * receipt or coupon as ESC/POS, PNG, SVG or text, per the request
     * {"txn_id":..,"what":"receipt"|"coupon","format":..,"host_lines":[..]}.
     *
     * @throws RefposException VERSION if the plugin is ABI 1.0 (no render
     *     slot), NOT_FOUND, BAD_REQUEST, ... as for the other calls
     */
    public byte[] render(String requestJson) {
        Function render = plugin.render;
        if (render == null) {
            throw plugin.missingSlot("render", 1);
        }
        byte[] request = Refpos.utf8(requestJson);
        lock.readLock().lock();
        try {
            Pointer live = live();
            PointerByReference out = new PointerByReference();
            try (Memory outLen = new Memory(Native.SIZE_T_SIZE)) {
                outLen.clear();
                int status = render.invokeInt(new Object[] {
                    live, request, new Refpos.SizeT(request.length), out, outLen});
                Pointer bytes = out.getValue();
                try {
                    long length = Native.SIZE_T_SIZE == 8 ? outLen.getLong(0)
                        : Integer.toUnsignedLong(outLen.getInt(0));
                    if (status != RefposException.OK) {
                        String answer = bytes == null ? null
                            : new String(bytes.getByteArray(0, (int) length), StandardCharsets.UTF_8);
                        throw failure(live, status, answer);
                    }
                    if (bytes == null) {
                        throw new RefposException(RefposException.INTERNAL,
                            "render returned OK without bytes", null);
                    }
                    if (length > Integer.MAX_VALUE - 8) {
                        throw new RefposException(RefposException.INTERNAL,
                            "render returned " + length + " bytes, more than a Java array holds", null);
                    }
                    return bytes.getByteArray(0, (int) length);
                } finally {
                    plugin.freeBuffer(bytes);
                }
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Runs a named operation of the referral loop (ABI 1.2; docs/api.md,
     * "call") and returns its answer document: "ask_outcome", "lead",
     * "contact", "forget" or "install_rules", each with its request
     * (schemas {@code <operation>.request} / {@code <operation>.answer}).
     *
     * @throws RefposException VERSION if the plugin is older than ABI 1.2
     *     (nothing is called); BAD_REQUEST for an unknown operation or a bad
     *     request, nothing changed (an operation name that is not plain
     *     ASCII, or holds a NUL the plugin would cut it at, is refused here
     *     without reaching the plugin); NOT_FOUND, CONFLICT as each
     *     operation says
     */
    public String call(String operation, String requestJson) {
        if (plugin.call == null) {
            throw plugin.missingSlot("call", 2);
        }
        return exchange(plugin.call, operationName(operation), requestJson);
    }

    /**
     * One sync with head office (ABI 1.3; docs/api.md, "sync"): the events
     * head office has not acknowledged go up, rule sets, code keys,
     * revocations and balances come down. {@code requestJson} is "{}" (or
     * {"clock_ms":..} under a test clock). Returns the answer document
     * {"pushed",.."acked_seq",.."next_sync_at_ms"}.
     *
     * <p>{@code progress} (may be null) is called on this thread as the sync
     * goes: ("push", acknowledged, to send) after each batch, then ("pull",
     * 0, 1) and ("pull", 1, 1). It must not use this store. Whatever it
     * throws is caught before it could reach C, the callback is not called
     * again, the sync runs to its end, and the exception is rethrown here
     * once the plugin has returned (with the sync's own RefposException, if
     * it failed too, as a suppressed exception).
     *
     * <p>Other threads may go on selling on this store while a sync runs.
     *
     * @throws RefposException VERSION if the plugin is older than ABI 1.3
     *     (nothing is called); CONFIG without a "sync" section in the store's
     *     configuration; STORAGE if head office cannot be reached or refuses
     *     the store; CONFLICT if head office refuses the log or another sync
     *     on this store is running; BAD_REQUEST for a bad request or a rule
     *     set not signed by the chain's key (nothing applied)
     */
    public String sync(String requestJson, SyncProgress progress) {
        if (plugin.sync == null) {
            throw plugin.missingSlot("sync", 3);
        }
        byte[] request = Refpos.utf8(requestJson);
        ProgressRelay relay = progress == null ? null : new ProgressRelay(progress);
        String answer = null;
        RefposException failed = null;
        lock.readLock().lock();
        try {
            Pointer live = live();
            PointerByReference out = new PointerByReference();
            int status;
            reportingProgress.set(Boolean.TRUE);
            try {
                status = plugin.sync.invokeInt(new Object[] {
                    live, request, new Refpos.SizeT(request.length), relay, null, out});
            } finally {
                reportingProgress.remove();
                // JNA holds its callback only weakly: C calls relay until here.
                Reference.reachabilityFence(relay);
            }
            try {
                answer = takeAnswer(plugin.sync, live, status, out.getValue());
            } catch (RefposException e) {
                failed = e;
            }
        } finally {
            lock.readLock().unlock();
        }
        if (relay != null) {
            relay.rethrowThrown(failed);
        }
        if (failed != null) {
            throw failed;
        }
        return answer;
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        lock.readLock().lock();
        try {
            return handle == null;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Closes the handle. Idempotent: a second close does nothing. Waits for
     * calls in flight on other threads.
     *
     * @throws RefposException if the plugin's close fails (the handle is
     *     given up all the same)
     */
    @Override
    public void close() {
        refuseInsideProgress("close");
        lock.writeLock().lock();
        try {
            if (handle == null) {
                return;
            }
            Pointer closing = handle;
            handle = null;
            int status = plugin.close.invokeInt(new Object[] {closing});
            if (status != RefposException.OK) {
                throw new RefposException(status, "close failed", null);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * One request-answer call: (store, request, len, &answer), or with an
     * operation name, (store, operation, request, len, &answer).
     */
    private String exchange(Function fn, byte[] operation, String requestJson) {
        byte[] request = Refpos.utf8(requestJson);
        lock.readLock().lock();
        try {
            Pointer live = live();
            PointerByReference out = new PointerByReference();
            Refpos.SizeT length = new Refpos.SizeT(request.length);
            int status = fn.invokeInt(operation == null
                ? new Object[] {live, request, length, out}
                : new Object[] {live, operation, request, length, out});
            return takeAnswer(fn, live, status, out.getValue());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The answer document of a call, released with free_buffer; or the call's RefposException. */
    private String takeAnswer(Function fn, Pointer live, int status, Pointer answer) {
        try {
            String text = Refpos.fromUtf8(answer);
            if (status != RefposException.OK) {
                throw failure(live, status, text);
            }
            if (text == null) {
                throw new RefposException(RefposException.INTERNAL,
                    fn.getName() + " returned OK without an answer", null);
            }
            return text;
        } finally {
            plugin.freeBuffer(answer);
        }
    }

    /**
     * call's operation as the NUL-terminated ASCII name refpos.h takes. A
     * name the plugin would misread (cut short at a NUL, or not ASCII) is
     * refused as the plugin refuses an unknown one.
     */
    private static byte[] operationName(String operation) {
        Objects.requireNonNull(operation, "operation");
        for (int i = 0; i < operation.length(); i++) {
            char c = operation.charAt(i);
            if (c == 0 || c > 0x7f) {
                throw new RefposException(RefposException.BAD_REQUEST,
                    "operation: must be an ASCII name such as \"ask_outcome\", got \""
                        + operation.replace("\0", "\\0") + "\"", null);
            }
        }
        byte[] name = new byte[operation.length() + 1]; // the last byte stays NUL
        for (int i = 0; i < operation.length(); i++) {
            name[i] = (byte) operation.charAt(i);
        }
        return name;
    }

    /** The exception for a failed call; last_error is read on the calling thread, right after it. */
    private RefposException failure(Pointer live, int status, String answer) {
        String message = Refpos.fromUtf8(plugin.lastError.invokePointer(new Object[] {live}));
        return new RefposException(status, message, answer);
    }

    private Pointer live() {
        refuseInsideProgress("a call");
        if (handle == null) {
            throw new RefposException(RefposException.BAD_HANDLE, "the store is closed", null);
        }
        return handle;
    }

    private void refuseInsideProgress(String what) {
        if (reportingProgress.get()) {
            throw new IllegalStateException(what + " on the store whose sync is reporting progress:"
                + " the progress callback must not use its own store (refpos.h)");
        }
    }

    /** refpos_progress_fn as JNA calls it back. */
    interface NativeProgress extends Callback {
        void invoke(Pointer userData, Pointer stage, long done, long total);
    }

    /**
     * sync's progress callback as C sees it: it calls the host's
     * {@link SyncProgress} and keeps what that throws, because nothing may
     * unwind through the plugin (JNA would only hand it to its uncaught
     * exception handler and return to C). After a first throw the host's
     * callback is not called again: the sync cannot be stopped from outside,
     * so it runs to its end without it.
     */
    private static final class ProgressRelay implements NativeProgress {
        private final SyncProgress progress;
        private Throwable thrown; // only the syncing thread touches it

        ProgressRelay(SyncProgress progress) {
            this.progress = progress;
        }

        @Override
        public void invoke(Pointer userData, Pointer stage, long done, long total) {
            if (thrown != null) {
                return;
            }
            try {
                progress.progress(stage == null ? "" : stage.getString(0, "US-ASCII"), done, total);
            } catch (Throwable t) { // Errors too: none may unwind through C
                thrown = t;
            }
        }

        /** Throws what the host's callback threw, if it did, with the sync's own failure suppressed in it. */
        void rethrowThrown(RefposException syncFailure) {
            if (thrown == null) {
                return;
            }
            if (syncFailure != null) {
                thrown.addSuppressed(syncFailure);
            }
            if (thrown instanceof RuntimeException) {
                throw (RuntimeException) thrown;
            }
            if (thrown instanceof Error) {
                throw (Error) thrown;
            }
            // A checked exception thrown sneakily: SyncProgress declares none.
            throw new IllegalStateException("sync's progress callback threw " + thrown, thrown);
        }
    }
}
