package refpos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * {@link Store#sync} (ABI 1.3) against the real plugin and a real head
 * office (refpos-hq on 127.0.0.1 over mutual TLS, {@link HeadOffice}), as
 * tests/sync does it from C++. What is checked is the Java side: the
 * progress callback, what it throws, the answer, and the failures' status.
 *
 * <pre>java -cp CLASSES:jna.jar refpos.SyncCheck PLUGIN WORK_DIR REFPOS_HQ REFPOSCTL</pre>
 *
 * WORK_DIR is deleted and created afresh. Exits 0 only if every check holds.
 */
public final class SyncCheck {
    private static final int BATCH_EVENTS = 2; // several batches from a single sale

    /** One call of the progress callback. */
    private record Progress(String stage, long done, long total) {
        @Override
        public String toString() {
            return "(" + stage + ", " + done + ", " + total + ")";
        }
    }

    /** What a progress callback of this check throws. */
    private static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: java -cp CLASSES:jna.jar refpos.SyncCheck PLUGIN WORK_DIR REFPOS_HQ REFPOSCTL");
            System.exit(2);
        }
        Checks.runAndExit("sync check", checks -> {
            Path work = Paths.get(args[1]);
            CheckoutDemo.deleteTree(work);
            Files.createDirectories(work);
            Refpos plugin = Refpos.load(args[0]);
            if (!checks.check(plugin.hasSync(), "the plugin has sync (ABI 1.3)")) {
                return;
            }
            withoutSyncSection(checks, plugin, work.resolve("unsynced"));
            HeadOffice.Chain chain = new HeadOffice.Chain(args[3], work.resolve("chain"));
            try (HeadOffice headOffice = HeadOffice.start(args[2], chain, work.resolve("hq"))) {
                checks.step("refpos-hq listens at " + headOffice.url());
                try (Store store = synced(plugin, chain, headOffice, work.resolve("java-store-1"))) {
                    pushThenPull(checks, store);
                }
                try (Store store = synced(plugin, chain, headOffice, work.resolve("java-store-2"))) {
                    progressThrows(checks, store);
                }
                try (Store store = synced(plugin, chain, headOffice, work.resolve("java-store-3"))) {
                    progressUsesItsStore(checks, store);
                }
                try (Store store = synced(plugin, chain, headOffice, work.resolve("java-store-4"))) {
                    otherThreadsDuringSync(checks, store);
                }
            }
            checks.check(true, "refpos-hq stopped cleanly on SIGTERM");
        });
    }

    /** A store whose id is its folder's name, configured to sync with {@code headOffice}. */
    private static Store synced(Refpos plugin, HeadOffice.Chain chain, HeadOffice headOffice, Path folder)
            throws Exception {
        String storeId = folder.getFileName().toString();
        String tls = chain.provision(storeId, folder);
        String config = CheckoutDemo.config(folder.resolve("data").toString());
        config = config.replace("\"store_id\":\"store-001\"", "\"store_id\":" + MiniJson.quote(storeId));
        config = config.substring(0, config.length() - 1) + ",\"sync\":"
            + headOffice.syncSection(chain, tls, BATCH_EVENTS) + "}";
        return plugin.open(config);
    }

    private static void withoutSyncSection(Checks checks, Refpos plugin, Path folder) {
        checks.step("sync of a store without a \"sync\" section");
        try (Store store = plugin.open(CheckoutDemo.config(folder.toString()))) {
            store.commit(CheckoutDemo.cart("T-1", "alice", null, 5000));
            List<Progress> calls = new ArrayList<>();
            RefposException e = Checks.expectFailure(
                () -> store.sync("{}", (stage, done, total) -> calls.add(new Progress(stage, done, total))));
            checks.check(e != null && e.getStatus() == RefposException.CONFIG, "CONFIG");
            checks.check(e != null && e.getMessage().contains("no \"sync\" section"), "the message says why");
            Object error = e == null || e.getAnswer() == null ? null : MiniJson.parse(e.getAnswer());
            checks.check("CONFIG".equals(MiniJson.get(error, "error", "code"))
                && "sync".equals(MiniJson.get(error, "error", "field")), "the error document names sync");
            checks.check(calls.isEmpty(), "progress was not called");
            checks.check(store.commit(CheckoutDemo.cart("T-2", "bob", null, 5000)).contains("\"T-2\""),
                "the store still sells");
        }
    }

    private static void pushThenPull(Checks checks, Store store) {
        checks.step("a sale, then sync: push in batches of " + BATCH_EVENTS + ", then pull");
        long toSend = lastSeq(store.commit(CheckoutDemo.cart("T-1", "alice", null, 5000)));
        List<Progress> calls = new ArrayList<>();
        String text = store.sync("{}", (stage, done, total) -> {
            calls.add(new Progress(stage, done, total));
            System.gc(); // the callback object must stay reachable while C holds it
        });
        System.out.println("  progress " + calls);
        System.out.println("  answer " + text);
        Object answer = MiniJson.parse(text);
        checks.check(Long.valueOf(toSend).equals(MiniJson.get(answer, "pushed"))
            && Long.valueOf(toSend).equals(MiniJson.get(answer, "acked_seq")), "all " + toSend + " events went up");
        checks.check(Long.valueOf((toSend + BATCH_EVENTS - 1) / BATCH_EVENTS).equals(MiniJson.get(answer, "batches")),
            "in batches of " + BATCH_EVENTS);
        checks.check(Long.valueOf(0).equals(MiniJson.get(answer, "conflicts"))
            && MiniJson.get(answer, "next_sync_at_ms") instanceof Long, "no conflicts, a next slot");
        List<Progress> pushes = calls.stream().filter(p -> p.stage().equals("push")).toList();
        checks.check(!pushes.isEmpty() && pushes.get(0).equals(new Progress("push", 0, toSend))
            && pushes.get(pushes.size() - 1).equals(new Progress("push", toSend, toSend)),
            "progress saw \"push\" from 0 to " + toSend + " of " + toSend);
        checks.check(calls.subList(pushes.size(), calls.size())
            .equals(List.of(new Progress("pull", 0, 1), new Progress("pull", 1, 1))),
            "then \"pull\" 0 of 1 and 1 of 1");

        Object again = MiniJson.parse(store.sync("{}", null));
        long acked = (Long) MiniJson.get(answer, "acked_seq");
        checks.check((Long) MiniJson.get(again, "acked_seq") > acked
            && MiniJson.get(again, "pushed").equals((Long) MiniJson.get(again, "acked_seq") - acked),
            "a second sync (no callback) sends only what happened since");
    }

    private static void progressThrows(Checks checks, Store store) {
        checks.step("the progress callback throws");
        long toSend = lastSeq(store.commit(CheckoutDemo.cart("T-1", "alice", null, 5000)));
        List<Progress> calls = new ArrayList<>();
        Refused refused = new Refused("no progress bar today");
        Refused thrown = Checks.expectThrown(Refused.class, () -> store.sync("{}", (stage, done, total) -> {
            calls.add(new Progress(stage, done, total));
            throw refused;
        }));
        checks.check(thrown == refused, "sync rethrows the very exception");
        checks.check(thrown != null && thrown.getSuppressed().length == 0, "the sync itself did not fail");
        checks.check(calls.equals(List.of(new Progress("push", 0, toSend))), "the callback was not called again");

        store.commit(CheckoutDemo.cart("T-2", "bob", null, 5000));
        Object after = MiniJson.parse(store.sync("{}", (stage, done, total) -> { }));
        checks.check((Long) MiniJson.get(after, "acked_seq") - (Long) MiniJson.get(after, "pushed") >= toSend,
            "the sync ran to its end: T-1's events went up the first time");
        checks.check(Boolean.TRUE.equals(MiniJson.get(MiniJson.parse(store.customer("{\"customer_id\":\"bob\"}")),
            "known")), "the store is usable");
    }

    private static void progressUsesItsStore(Checks checks, Store store) {
        checks.step("the progress callback uses its own store");
        IllegalStateException e = Checks.expectThrown(IllegalStateException.class, () -> store.sync("{}",
            (stage, done, total) -> store.customer("{\"customer_id\":\"alice\"}")));
        checks.check(e != null && e.getMessage().contains("must not use its own store"),
            "IllegalStateException, after the sync");
        IllegalStateException close = Checks.expectThrown(IllegalStateException.class, () -> store.sync("{}",
            (stage, done, total) -> store.close()));
        checks.check(close != null && !store.isClosed(), "close from the callback is refused, not a deadlock");
        checks.check(Boolean.FALSE.equals(MiniJson.get(MiniJson.parse(store.customer("{\"customer_id\":\"alice\"}")),
            "known")), "the store is usable");
    }

    /**
     * While the pull runs (the callback is called inside it), another thread
     * sells on the same store and a third starts a second sync: the sale
     * goes through (the Java store's lock is shared by calls), the second
     * sync is CONFLICT. During the pull, so that the sale is certainly not
     * among the events this sync pushes: it goes up with the next one.
     */
    private static void otherThreadsDuringSync(Checks checks, Store store) {
        checks.step("other threads while the sync pulls");
        long toSend = lastSeq(store.commit(CheckoutDemo.cart("T-1", "alice", null, 5000)));
        Map<String, Object> outcomes = new ConcurrentHashMap<>();
        String first = store.sync("{}", (stage, done, total) -> {
            if (stage.equals("pull") && done == 0) {
                onOtherThread(outcomes, "second sync", () -> store.sync("{}", null));
                onOtherThread(outcomes, "sale", () -> store.commit(CheckoutDemo.cart("T-2", "bob", null, 3000)));
            }
        });
        checks.check(Long.valueOf(toSend).equals(MiniJson.get(MiniJson.parse(first), "pushed")),
            "the first sync pushed the sale's " + toSend + " events");
        Object second = outcomes.get("second sync");
        checks.check(second instanceof RefposException
            && ((RefposException) second).getStatus() == RefposException.CONFLICT,
            "a second sync at the same time is CONFLICT (" + second + ")");
        Object sale = outcomes.get("sale");
        checks.check(sale instanceof String && ((String) sale).contains("\"T-2\""),
            "a sale during the sync goes through");
        checks.check((Long) MiniJson.get(MiniJson.parse(store.sync("{}", null)), "pushed") > 0,
            "and goes up with the next sync");
    }

    /** Runs {@code work} on a thread of its own and waits for it; its answer or exception lands in {@code outcomes}. */
    private static void onOtherThread(Map<String, Object> outcomes, String name, Supplier<String> work) {
        Thread thread = new Thread(() -> {
            try {
                outcomes.put(name, work.get());
            } catch (RuntimeException e) {
                outcomes.put(name, e);
            }
        }, name);
        thread.start();
        try {
            thread.join(HeadOffice.GUARD_S * 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            outcomes.put(name, new IllegalStateException(name + " hung while a sync was running"));
        }
    }

    private static long lastSeq(String commitAnswer) {
        return (Long) MiniJson.get(MiniJson.parse(commitAnswer), "events", "last_seq");
    }
}
