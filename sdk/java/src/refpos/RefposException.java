package refpos;

/**
 * A refpos call returned a status other than OK.
 *
 * <p>{@link #getMessage()} is the plugin's human-readable message as it gave
 * it (from {@code last_error}, or the error text of {@code open}), e.g.
 * "cart.lines[3].quantity: must be a positive integer, got -2";
 * {@link #getAnswer()}
 * is the error document the call handed back, e.g.
 * {@code {"schema":"refpos/1","error":{"status":2,"code":"BAD_REQUEST","field":..}}},
 * or {@code null} when the call has no answer (open, close). For
 * CODE_REJECTED the answer is the whole preview/commit document with the
 * {@code code.reason}.
 *
 * <p>Unchecked: every call on a {@link Store} can throw it, and a host that
 * wants to handle one status catches it and looks at {@link #getStatus()}.
 */
public final class RefposException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Status numbers of refpos.h; never changed or reused. */
    public static final int OK = 0;
    public static final int INVALID_ARGUMENT = 1;
    public static final int BAD_REQUEST = 2;
    public static final int CODE_REJECTED = 3;
    public static final int NOT_FOUND = 4;
    public static final int CONFLICT = 5;
    public static final int STORAGE = 6;
    public static final int VERSION = 7;
    public static final int CONFIG = 8;
    public static final int BAD_HANDLE = 9;
    public static final int RATE_LIMITED = 10;
    public static final int INTERNAL = 11;

    private static final String[] NAMES = {
        "OK", "INVALID_ARGUMENT", "BAD_REQUEST", "CODE_REJECTED", "NOT_FOUND",
        "CONFLICT", "STORAGE", "VERSION", "CONFIG", "BAD_HANDLE", "RATE_LIMITED",
        "INTERNAL",
    };

    private final int status;
    private final String answer;

    public RefposException(int status, String message, String answer) {
        super(message == null ? "" : message);
        this.status = status;
        this.answer = answer;
    }

    /** The refpos_status number (see the constants above). */
    public int getStatus() {
        return status;
    }

    /** The status as named in refpos.h without the prefix, e.g. "BAD_REQUEST". */
    public String getStatusName() {
        return statusName(status);
    }

    /** Status name, number and message, e.g. "refpos.RefposException: BAD_REQUEST (2): ..". */
    @Override
    public String toString() {
        return getClass().getName() + ": " + getStatusName() + " (" + status + "): " + getMessage();
    }

    /** The answer document (an error document or a rejected-code answer), or null. */
    public String getAnswer() {
        return answer;
    }

    /** Name of a status number; a status newer than this binding is "STATUS_<n>". */
    public static String statusName(int status) {
        return status >= 0 && status < NAMES.length ? NAMES[status] : "STATUS_" + status;
    }
}
