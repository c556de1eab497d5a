package refpos;

import com.sun.jna.Function;
import com.sun.jna.IntegerType;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.PointerByReference;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;

/**
 * A loaded refpos plugin (librefpos.so) and its function table, bound with
 * JNA to the C ABI of sdk/include/refpos/refpos.h.
 *
 * <p>{@link #load(String)} finds the one exported symbol,
 * {@code refpos_get_api}, asks it for ABI 1.0 (so the binding works with
 * every 1.x plugin) and reads the table the plugin returns. A slot is used
 * only if it lies within the table's {@code struct_size}: a plugin built for
 * an older minor has a shorter table, so on a 1.0 plugin {@link #hasRender()}
 * is false and {@link Store#render} throws VERSION instead of calling past
 * the end of the table; likewise {@link #hasCall()} (ABI 1.2) and
 * {@link #hasSync()} (ABI 1.3) with {@link Store#call} and {@link Store#sync}.
 *
 * <p>The library stays loaded while this object (or a {@link Store} opened
 * from it) is reachable. JNA caches the library by path, so loading the same
 * path again in one JVM does not dlopen it a second time.
 *
 * <p>Thread-safe: a Refpos may be shared; {@link #open} may be called from
 * any thread.
 */
public final class Refpos {
    /** ABI versions: major in the high 16 bits, minor in the low 16 bits. */
    public static final int ABI_1_0 = 0x00010000;
    public static final int ABI_1_1 = 0x00010001;
    public static final int ABI_1_2 = 0x00010002;
    public static final int ABI_1_3 = 0x00010003;

    /** The one exported symbol (REFPOS_ENTRY_SYMBOL). */
    public static final String ENTRY_SYMBOL = "refpos_get_api";

    private static final int RTLD_NOW = 2; // Linux and macOS
    private static final String UTF8 = StandardCharsets.UTF_8.name();

    /**
     * struct refpos_api, field for field. Only ever read field by field: an
     * older plugin's table is shorter than this structure, so reading it
     * whole would read past the plugin's table. New slots are appended here
     * as refpos.h appends them.
     */
    @Structure.FieldOrder({"struct_size", "abi_version", "version", "open", "close",
        "last_error", "preview", "commit", "reverse", "issue_code", "customer",
        "free_buffer", "render", "call", "sync"})
    public static final class ApiTable extends Structure {
        public int struct_size;
        public int abi_version;
        public Pointer version;
        public Pointer open;
        public Pointer close;
        public Pointer last_error;
        public Pointer preview;
        public Pointer commit;
        public Pointer reverse;
        public Pointer issue_code;
        public Pointer customer;
        public Pointer free_buffer;
        /* ABI 1.1 */
        public Pointer render;
        /* ABI 1.2 */
        public Pointer call;
        /* ABI 1.3 */
        public Pointer sync;

        ApiTable(Pointer table) {
            super(table);
            readField("struct_size");
            readField("abi_version");
            for (String slot : getFieldOrder().subList(2, getFieldOrder().size())) {
                if (has(slot)) {
                    readField(slot);
                }
            }
        }

        /** Whether the plugin's table reaches past this slot (refpos.h: "reads a slot only if..."). */
        boolean has(String slot) {
            return Integer.toUnsignedLong(struct_size)
                >= (long) fieldOffset(slot) + Native.POINTER_SIZE;
        }
    }

    /** size_t, whatever its width on this platform. */
    public static final class SizeT extends IntegerType {
        private static final long serialVersionUID = 1L;

        public SizeT() {
            this(0);
        }

        public SizeT(long value) {
            super(Native.SIZE_T_SIZE, value, true);
        }
    }

    private final String path;
    private final NativeLibrary library; // strong reference: keeps the .so loaded
    private final ApiTable table;
    private final Function version;
    private final Function open;
    final Function close;
    final Function lastError;
    final Function preview;
    final Function commit;
    final Function reverse;
    final Function issueCode;
    final Function customer;
    final Function freeBuffer;
    final Function render; // null before ABI 1.1
    final Function call; // null before ABI 1.2
    final Function sync; // null before ABI 1.3

    private Refpos(String path, NativeLibrary library, ApiTable table) {
        this.path = path;
        this.library = library;
        this.table = table;
        this.version = slot("version", table.version);
        this.open = slot("open", table.open);
        this.close = slot("close", table.close);
        this.lastError = slot("last_error", table.last_error);
        this.preview = slot("preview", table.preview);
        this.commit = slot("commit", table.commit);
        this.reverse = slot("reverse", table.reverse);
        this.issueCode = slot("issue_code", table.issue_code);
        this.customer = slot("customer", table.customer);
        this.freeBuffer = slot("free_buffer", table.free_buffer);
        this.render = optionalSlot("render", table.render);
        this.call = optionalSlot("call", table.call);
        this.sync = optionalSlot("sync", table.sync);
    }

    /** A slot newer than ABI 1.0: null if the plugin's table ends before it (or it is NULL). */
    private Function optionalSlot(String name, Pointer fn) {
        return table.has(name) && fn != null ? Function.getFunction(fn) : null;
    }

    private Function slot(String name, Pointer fn) {
        if (!table.has(name) || fn == null) {
            throw new RefposException(RefposException.VERSION, "the plugin at " + path
                + " has no '" + name + "' slot (table of " + Integer.toUnsignedString(table.struct_size)
                + " bytes, ABI " + abiString(table.abi_version) + ")", null);
        }
        return Function.getFunction(fn);
    }

    /** Loads the plugin at {@code path} and asks it for ABI 1.0. */
    public static Refpos load(String path) {
        return load(path, ABI_1_0);
    }

    /**
     * Loads the plugin at {@code path} (a file path; JNA's usual library
     * name lookup otherwise) and asks it for {@code wantedAbi}.
     *
     * @throws UnsatisfiedLinkError if the library cannot be loaded or does
     *     not export refpos_get_api
     * @throws RefposException VERSION if the plugin does not provide that ABI
     */
    public static Refpos load(String path, int wantedAbi) {
        Objects.requireNonNull(path, "path");
        NativeLibrary library = NativeLibrary.getInstance(path,
            Map.of(Library.OPTION_OPEN_FLAGS, RTLD_NOW));
        Function entry = library.getFunction(ENTRY_SYMBOL);
        PointerByReference out = new PointerByReference();
        int status = entry.invokeInt(new Object[] {wantedAbi, out});
        if (status != RefposException.OK || out.getValue() == null) {
            throw new RefposException(status == 0 ? RefposException.INTERNAL : status,
                ENTRY_SYMBOL + "(" + abiString(wantedAbi) + ") of " + path + " failed"
                    + (status == RefposException.VERSION ? ": the plugin does not provide this ABI" : ""),
                null);
        }
        ApiTable table = new ApiTable(out.getValue());
        if ((table.abi_version >>> 16) != (wantedAbi >>> 16)) {
            throw new RefposException(RefposException.VERSION, "the plugin at " + path
                + " has ABI " + abiString(table.abi_version) + ", wanted " + abiString(wantedAbi), null);
        }
        return new Refpos(path, library, table);
    }

    /** "1.1" for 0x00010001. */
    public static String abiString(int abi) {
        return (abi >>> 16) + "." + (abi & 0xffff);
    }

    /** The path the plugin was loaded from. */
    public String path() {
        return path;
    }

    /** The plugin's ABI version (abi_version of its table), e.g. 0x00010001. */
    public int abiVersion() {
        return table.abi_version;
    }

    /** sizeof(refpos_api) as compiled into the plugin. */
    public int tableSize() {
        return table.struct_size;
    }

    /** Whether the plugin has the ABI 1.1 render slot. */
    public boolean hasRender() {
        return render != null;
    }

    /** Whether the plugin has the ABI 1.2 call slot ({@link Store#call}). */
    public boolean hasCall() {
        return call != null;
    }

    /** Whether the plugin has the ABI 1.3 sync slot ({@link Store#sync}). */
    public boolean hasSync() {
        return sync != null;
    }

    /**
     * VERSION, before anything is called, if the plugin lacks a slot:
     * {@code slot} is what it is called, {@code minor} the ABI 1.x that
     * brought it.
     */
    RefposException missingSlot(String slot, int minor) {
        return new RefposException(RefposException.VERSION, slot + " needs ABI 1." + minor
            + "; the plugin at " + path + " is ABI " + abiString(table.abi_version), null);
    }

    /** The plugin's version document: {"plugin":..,"abi":..,"schema":..,...}. */
    public String version() {
        Pointer text = version.invokePointer(new Object[0]);
        return text == null ? "" : text.getString(0, UTF8);
    }

    /**
     * Opens (creating if needed) the store the JSON config describes
     * (sdk/schema/v1/config.schema.json). Close the store when done, best
     * with try-with-resources.
     *
     * @throws RefposException CONFIG, STORAGE (e.g. the folder is open
     *     already), ... with the plugin's message
     */
    public Store open(String configJson) {
        byte[] config = utf8(configJson);
        PointerByReference store = new PointerByReference();
        PointerByReference error = new PointerByReference();
        int status = open.invokeInt(new Object[] {config, new SizeT(config.length), store, error});
        String message = null;
        try {
            Pointer text = error.getValue();
            message = text == null ? null : text.getString(0, UTF8);
        } finally {
            freeBuffer(error.getValue());
        }
        if (status != RefposException.OK) {
            throw new RefposException(status, message, null);
        }
        if (store.getValue() == null) {
            throw new RefposException(RefposException.INTERNAL, "open returned OK without a store", null);
        }
        return new Store(this, store.getValue());
    }

    void freeBuffer(Pointer buffer) {
        if (buffer != null) {
            freeBuffer.invokeVoid(new Object[] {buffer});
        }
    }

    static byte[] utf8(String text) {
        return Objects.requireNonNull(text, "request").getBytes(StandardCharsets.UTF_8);
    }

    static String fromUtf8(Pointer text) {
        return text == null ? null : text.getString(0, UTF8);
    }
}
