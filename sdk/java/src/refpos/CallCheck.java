package refpos;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * {@link Store#call} (ABI 1.2) against the real plugin: the referral loop's
 * operations answer what docs/api.md says, a refused operation throws its
 * status and records nothing (the log is gap-free, so the next event's seq
 * shows it), and a plugin older than ABI 1.2 or 1.3 gets VERSION from
 * call and sync without being called.
 *
 * <pre>java -cp CLASSES:jna.jar refpos.CallCheck PLUGIN DATA_DIR [ABI10_PLUGIN]</pre>
 *
 * DATA_DIR is deleted and created afresh. ABI10_PLUGIN is the ABI 1.0 shim
 * of the terminal tests (tests/integration/printer/abi10_plugin.c), which
 * loads the real plugin named by $REFPOS_ABI10_TARGET. Exits 0 only if every
 * check holds.
 */
public final class CallCheck {
    public static void main(String[] args) {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: java -cp CLASSES:jna.jar refpos.CallCheck PLUGIN DATA_DIR [ABI10_PLUGIN]");
            System.exit(2);
        }
        Checks.runAndExit("call check", checks -> {
            Path dataDir = Paths.get(args[1]);
            CheckoutDemo.deleteTree(dataDir);
            referralLoop(checks, Refpos.load(args[0]), dataDir.resolve("store"));
            if (args.length == 3) {
                olderPlugin(checks, Refpos.load(args[2]), dataDir.resolve("abi10-store"));
            }
        });
    }

    private static void referralLoop(Checks checks, Refpos plugin, Path folder) {
        checks.step("load: ABI " + Refpos.abiString(plugin.abiVersion()));
        if (!checks.check(plugin.hasCall(), "the plugin has call (ABI 1.2)")) {
            return;
        }
        try (Store store = plugin.open(CheckoutDemo.config(folder.toString()))) {
            checks.step("Alice buys (T-1)");
            Object sale = MiniJson.parse(store.commit(CheckoutDemo.cart("T-1", "alice", null, 5000)));
            long saleLastSeq = (Long) MiniJson.get(sale, "events", "last_seq");
            checks.check(Boolean.TRUE.equals(MiniJson.get(sale, "ask", "ask")),
                "the till is prompted to ask for a referral");

            unknownOperations(checks, store);

            checks.step("ask_outcome: the cashier asked, Alice declined");
            String declined = ask("T-1", "declined");
            String answer = store.call("ask_outcome", declined);
            System.out.println("  " + answer);
            Object asked = MiniJson.parse(answer);
            checks.check("refpos/1".equals(MiniJson.get(asked, "schema"))
                && "T-1".equals(MiniJson.get(asked, "txn_id"))
                && "declined".equals(MiniJson.get(asked, "outcome")), "the answer names T-1, declined");
            checks.check(Long.valueOf(saleLastSeq + 1).equals(MiniJson.get(asked, "events", "first_seq"))
                && Long.valueOf(saleLastSeq + 1).equals(MiniJson.get(asked, "events", "last_seq")),
                "one event, right after the sale's: the refused operations recorded nothing");
            checks.check(answer.equals(store.call("ask_outcome", declined)),
                "the same request again answers the same text");
            RefposException other = Checks.expectFailure(() -> store.call("ask_outcome", ask("T-1", "asked")));
            checks.check(other != null && other.getStatus() == RefposException.CONFLICT,
                "another outcome for T-1 is CONFLICT");
            RefposException unknown = Checks.expectFailure(() -> store.call("ask_outcome", ask("T-404", "asked")));
            checks.check(unknown != null && unknown.getStatus() == RefposException.NOT_FOUND
                && unknown.getMessage().contains("T-404"), "an unknown sale is NOT_FOUND, named");

            checks.step("lead: Alice hands over Sam's contact");
            Object lead = MiniJson.parse(store.call("lead", lead("L-1")));
            checks.check("L-1".equals(MiniJson.get(lead, "lead_id"))
                && "alice".equals(MiniJson.get(lead, "customer_id")), "the answer names L-1 and alice");
            checks.check(Long.valueOf(saleLastSeq + 2).equals(MiniJson.get(lead, "events", "first_seq")),
                "its events follow the ask outcome's");
            RefposException again = Checks.expectFailure(() -> store.call("lead", lead("L-1")));
            checks.check(again != null && again.getStatus() == RefposException.CONFLICT,
                "a second lead L-1 is CONFLICT");

            checks.step("forget Alice");
            Object forgotten = MiniJson.parse(store.call("forget",
                "{\"customer_id\":\"alice\",\"terminal_id\":\"office\"}"));
            Object removed = MiniJson.get(forgotten, "removed");
            checks.check("alice".equals(MiniJson.get(forgotten, "customer_id"))
                && removed instanceof Long && (Long) removed >= 1, "her lead's contact is gone (" + removed + ")");
            Object customer = MiniJson.parse(store.customer("{\"customer_id\":\"alice\"}"));
            checks.check(Long.valueOf(1).equals(MiniJson.get(customer, "purchases")), "her purchase stays");
        }
    }

    /** Operations that are not there: BAD_REQUEST, and the caller checks that nothing was recorded. */
    private static void unknownOperations(Checks checks, Store store) {
        checks.step("an unknown operation");
        RefposException typo = Checks.expectFailure(() -> store.call("ask_outcomes", ask("T-1", "declined")));
        checks.check(typo != null && typo.getStatus() == RefposException.BAD_REQUEST
            && "BAD_REQUEST".equals(typo.getStatusName()), "BAD_REQUEST");
        checks.check(typo != null && typo.getMessage().contains("ask_outcome"),
            "the message names the operations there are");
        Object field = typo == null || typo.getAnswer() == null ? null
            : MiniJson.get(MiniJson.parse(typo.getAnswer()), "error", "field");
        checks.check("operation".equals(field), "the error document names the field operation");
        for (String misleading : new String[] {"ask_outcome\0x", "ask_outcom\u00e9"}) {
            RefposException refused = Checks.expectFailure(() -> store.call(misleading, ask("T-1", "declined")));
            checks.check(refused != null && refused.getStatus() == RefposException.BAD_REQUEST
                && refused.getAnswer() == null, "a name the plugin would misread is refused before it");
        }
    }

    /** A plugin older than ABI 1.2: call and sync are VERSION, before the plugin is called. */
    private static void olderPlugin(Checks checks, Refpos plugin, Path folder) {
        checks.step("an ABI " + Refpos.abiString(plugin.abiVersion()) + " plugin (" + plugin.tableSize()
            + "-byte table)");
        checks.check(!plugin.hasCall() && !plugin.hasSync(), "it has neither call nor sync");
        try (Store store = plugin.open(CheckoutDemo.config(folder.toString()))) {
            RefposException call = Checks.expectFailure(() -> store.call("ask_outcome", ask("T-1", "declined")));
            checks.check(call != null && call.getStatus() == RefposException.VERSION
                && call.getMessage().contains("call needs ABI 1.2"), "call is VERSION, saying it needs ABI 1.2");
            RefposException sync = Checks.expectFailure(() -> store.sync("{}", null));
            checks.check(sync != null && sync.getStatus() == RefposException.VERSION
                && sync.getMessage().contains("sync needs ABI 1.3"), "sync is VERSION, saying it needs ABI 1.3");
            checks.check(store.commit(CheckoutDemo.cart("T-1", "alice", null, 5000)).contains("\"T-1\""),
                "the store still sells");
        }
    }

    static String ask(String txnId, String outcome) {
        return "{\"txn_id\":" + MiniJson.quote(txnId) + ",\"outcome\":" + MiniJson.quote(outcome)
            + ",\"terminal_id\":\"till-1\",\"cashier_id\":\"c7\"}";
    }

    static String lead(String leadId) {
        return "{\"lead_id\":" + MiniJson.quote(leadId) + ",\"customer_id\":\"alice\",\"friend_name\":\"Sam\","
            + "\"friend_contact\":\"sam@example.com\",\"consent\":true,\"terminal_id\":\"till-1\"}";
    }
}
