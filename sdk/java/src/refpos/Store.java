package refpos;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

import java.nio.charset.StandardCharsets;
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
 */
public final class Store implements AutoCloseable {
    private final Refpos plugin; // keeps the library and its table alive
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private Pointer handle; // null once closed; guarded by lock

    Store(Refpos plugin, Pointer handle) {
        this.plugin = plugin;
        this.handle = handle;
    }

    /** What a cart and code would get; changes nothing (preview.request/answer). */
    public String preview(String requestJson) {
        return call(plugin.preview, requestJson);
    }

    /** Records a paid transaction; idempotent on txn_id (commit.request/answer). */
    public String commit(String requestJson) {
        return call(plugin.commit, requestJson);
    }

    /** Voids or refunds a committed transaction (reverse.request/answer). */
    public String reverse(String requestJson) {
        return call(plugin.reverse, requestJson);
    }

    /** Issues (or returns) a customer's referral code (issue_code.request/answer). */
    public String issueCode(String requestJson) {
        return call(plugin.issueCode, requestJson);
    }

    /** Looks up a customer, their wallet and codes (customer.request/answer). */
    public String customer(String requestJson) {
        return call(plugin.customer, requestJson);
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
            throw new RefposException(RefposException.VERSION, "render needs ABI 1.1; the plugin at "
                + plugin.path() + " is ABI " + Refpos.abiString(plugin.abiVersion()), null);
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

    /** One request-answer call: (store, request, len, &answer). */
    private String call(Function fn, String requestJson) {
        byte[] request = Refpos.utf8(requestJson);
        lock.readLock().lock();
        try {
            Pointer live = live();
            PointerByReference out = new PointerByReference();
            int status = fn.invokeInt(new Object[] {live, request, new Refpos.SizeT(request.length), out});
            Pointer answer = out.getValue();
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
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The exception for a failed call; last_error is read on the calling thread, right after it. */
    private RefposException failure(Pointer live, int status, String answer) {
        String message = Refpos.fromUtf8(plugin.lastError.invokePointer(new Object[] {live}));
        return new RefposException(status, message, answer);
    }

    private Pointer live() {
        if (handle == null) {
            throw new RefposException(RefposException.BAD_HANDLE, "the store is closed", null);
        }
        return handle;
    }
}
