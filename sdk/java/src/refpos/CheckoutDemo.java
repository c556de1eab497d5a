package refpos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Comparator;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The referral story at a till, scripted, as a Java host meets it:
 * Alice buys and gets a code, Bob redeems it (20% off, capped), Alice's
 * wallet shows the credit, a retried commit answers the same, a bad request
 * names its field, Alice's receipt renders as PNG, and voiding Bob's sale
 * takes the credit back.
 *
 * <pre>java -cp CLASSES:/usr/share/java/jna.jar refpos.CheckoutDemo PLUGIN DATA_DIR</pre>
 *
 * DATA_DIR is deleted and created afresh. Prints each step; exits 0 only if
 * every check holds, 1 otherwise (2 for bad arguments).
 */
public final class CheckoutDemo {
    /** 2026-01-01T00:00:00Z, the store's fixed clock (as in tests/integration). */
    static final long START_MS = 1_767_225_600_000L;

    private final Checks checks;

    private CheckoutDemo(Checks checks) {
        this.checks = checks;
    }

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: java -cp CLASSES:jna.jar refpos.CheckoutDemo PLUGIN DATA_DIR");
            System.exit(2);
        }
        Checks.runAndExit("checkout demo", checks -> new CheckoutDemo(checks).run(args[0], Paths.get(args[1])));
    }

    private void run(String pluginPath, Path dataDir) throws IOException {
        deleteTree(dataDir);
        Files.createDirectories(dataDir);

        step("load " + pluginPath);
        Refpos plugin = Refpos.load(pluginPath);
        System.out.println("  version " + plugin.version());
        System.out.println("  ABI " + Refpos.abiString(plugin.abiVersion()) + ", table "
            + plugin.tableSize() + " bytes, render " + (plugin.hasRender() ? "yes" : "no"));
        check((plugin.abiVersion() >>> 16) == 1, "plugin ABI major is 1");

        step("open store-001 in " + dataDir.resolve("store"));
        Store store = plugin.open(config(dataDir.resolve("store").toString()));
        try (store) {
            story(plugin, store, dataDir);
        }
        check(store.isClosed(), "store closed by try-with-resources");
        store.close(); // idempotent
        check(store.isClosed(), "second close is a no-op");
        RefposException closed = expectFailure(() -> store.customer("{\"customer_id\":\"alice\"}"));
        check(closed != null && closed.getStatus() == RefposException.BAD_HANDLE,
            "a call after close throws BAD_HANDLE");
    }

    private void story(Refpos plugin, Store store, Path dataDir) throws IOException {
        step("Alice buys (T-ALICE-1: 30.00 + 25.00)");
        String aliceSale = cart("T-ALICE-1", "alice", null, 3000, 2500);
        Object alice = parse(store.commit(aliceSale));
        String aliceCode = (String) MiniJson.get(alice, "issued_code", "code");
        System.out.println("  total " + money(MiniJson.get(alice, "total_minor")) + ", issued code "
            + aliceCode);
        check(Long.valueOf(5500).equals(MiniJson.get(alice, "total_minor")), "Alice pays 55.00");
        check(aliceCode != null && !aliceCode.isEmpty(), "Alice gets a referral code");
        check(Boolean.TRUE.equals(MiniJson.get(alice, "issued_code", "new")), "the code is new");

        step("Bob previews with Alice's code (300.00: 20% would be 60.00, capped at 50.00)");
        String bobCart = cart(null, "bob", aliceCode, 30000);
        Object preview = parse(store.preview(bobCart));
        System.out.println("  discount " + money(MiniJson.get(preview, "discount_minor")) + ", total "
            + money(MiniJson.get(preview, "total_minor")) + ", code "
            + MiniJson.get(preview, "code", "status") + ": " + MiniJson.get(preview, "code", "message"));
        check("accepted".equals(MiniJson.get(preview, "code", "status")), "code accepted in preview");
        check(Long.valueOf(5000).equals(MiniJson.get(preview, "discount_minor")), "preview discount is the cap, 50.00");

        step("Bob pays (T-BOB-1)");
        String bobSale = cart("T-BOB-1", "bob", aliceCode, 30000);
        String bobAnswer = store.commit(bobSale);
        Object bob = parse(bobAnswer);
        System.out.println("  discount " + money(MiniJson.get(bob, "discount_minor")) + ", total "
            + money(MiniJson.get(bob, "total_minor")) + ", Alice's reward "
            + money(MiniJson.get(bob, "redemption", "referrer_reward", "amount_minor")) + " ("
            + MiniJson.get(bob, "redemption", "referrer_reward", "settled") + ")");
        check(Long.valueOf(5000).equals(MiniJson.get(bob, "discount_minor")), "commit discount 50.00");
        check(Long.valueOf(25000).equals(MiniJson.get(bob, "total_minor")), "Bob pays 250.00");
        check(aliceCode.equals(MiniJson.get(bob, "redemption", "code")), "redemption names Alice's code");
        check(Long.valueOf(1000).equals(MiniJson.get(bob, "redemption", "referrer_reward", "amount_minor")),
            "Alice is owed 10.00");

        step("Alice's wallet");
        Object wallet = parse(store.customer("{\"customer_id\":\"alice\"}"));
        System.out.println("  balance " + money(MiniJson.get(wallet, "wallet", "balance_minor"))
            + ", code redemptions " + MiniJson.get(wallet, "codes", 0, "redemptions"));
        check(Long.valueOf(1000).equals(MiniJson.get(wallet, "wallet", "balance_minor")), "Alice has 10.00 credit");
        check(Long.valueOf(1).equals(MiniJson.get(wallet, "codes", 0, "redemptions")), "her code was redeemed once");

        step("the till retries Bob's commit (network hiccup)");
        String retry = store.commit(bobSale);
        check(retry.equals(bobAnswer), "the retry answers the identical text (" + retry.length() + " bytes)");
        Object again = parse(store.customer("{\"customer_id\":\"alice\"}"));
        check(Long.valueOf(1000).equals(MiniJson.get(again, "wallet", "balance_minor")), "and credits nothing twice");

        step("Alice tries her own code");
        RefposException own = expectFailure(() -> store.preview(cart(null, "alice", aliceCode, 3000)));
        if (own != null) {
            System.out.println("  " + own.getStatusName() + ": " + own.getMessage());
        }
        check(own != null && own.getStatus() == RefposException.CODE_REJECTED, "CODE_REJECTED");
        check(own != null && own.getAnswer() != null
            && "rejected".equals(MiniJson.get(parse(own.getAnswer()), "code", "status")),
            "the answer says rejected, with a reason");

        step("a bad request (quantity -2)");
        String bad = cart(null, "carol", null, 1000).replace("\"quantity\":1", "\"quantity\":-2");
        RefposException badRequest = expectFailure(() -> store.preview(bad));
        if (badRequest != null) {
            System.out.println("  " + badRequest);
            System.out.println("  answer " + badRequest.getAnswer());
        }
        check(badRequest != null && badRequest.getStatus() == RefposException.BAD_REQUEST
            && "BAD_REQUEST".equals(badRequest.getStatusName()), "status BAD_REQUEST");
        check(badRequest != null && badRequest.getMessage().contains("quantity"), "message names the field");
        Object field = badRequest == null || badRequest.getAnswer() == null ? null
            : MiniJson.get(parse(badRequest.getAnswer()), "error", "field");
        check(field instanceof String && ((String) field).contains("quantity"),
            "error document names the field (" + field + ")");

        step("render Alice's receipt as PNG");
        if (plugin.hasRender()) {
            String request = "{\"txn_id\":\"T-ALICE-1\",\"what\":\"receipt\",\"format\":\"png\","
                + "\"host_lines\":[\"Espresso beans 1kg            30.00\",\"Grinder brush                 25.00\"]}";
            byte[] png = store.render(request);
            Path file = dataDir.resolve("alice-receipt.png");
            Files.write(file, png);
            System.out.println("  " + png.length + " bytes, written to " + file);
            byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
            check(png.length > signature.length
                && Arrays.equals(Arrays.copyOf(png, signature.length), signature), "PNG signature");
            check(Arrays.equals(png, store.render(request)), "a reprint gives the same bytes");
            RefposException missing = expectFailure(() -> store.render(
                "{\"txn_id\":\"T-NOPE\",\"what\":\"receipt\",\"format\":\"png\",\"host_lines\":[]}"));
            check(missing != null && missing.getStatus() == RefposException.NOT_FOUND,
                "render of an unknown sale is NOT_FOUND");
        } else {
            System.out.println("  skipped: the plugin is ABI " + Refpos.abiString(plugin.abiVersion())
                + " (render is 1.1)");
            RefposException none = expectFailure(() -> store.render("{}"));
            check(none != null && none.getStatus() == RefposException.VERSION, "render on a 1.0 plugin is VERSION");
        }

        step("void Bob's sale (R-1)");
        Object reversal = parse(store.reverse("{\"reversal_id\":\"R-1\",\"txn_id\":\"T-BOB-1\","
            + "\"kind\":\"void\",\"terminal_id\":\"till-1\",\"cashier_id\":\"cashier-7\"}"));
        System.out.println("  reversed discount " + money(MiniJson.get(reversal, "reversed_discount_minor"))
            + ", reversed reward " + money(MiniJson.get(reversal, "reversed_referrer_reward_minor")));
        check(Long.valueOf(5000).equals(MiniJson.get(reversal, "reversed_discount_minor")), "discount reversed");
        check(Long.valueOf(1000).equals(MiniJson.get(reversal, "reversed_referrer_reward_minor")),
            "Alice's reward reversed");
        Object after = parse(store.customer("{\"customer_id\":\"alice\"}"));
        System.out.println("  Alice's balance " + money(MiniJson.get(after, "wallet", "balance_minor")));
        check(Long.valueOf(0).equals(MiniJson.get(after, "wallet", "balance_minor")), "Alice's credit is gone");
    }

    /** The store config of tests/integration/plugin.cpp's default_config. */
    static String config(String dataDir) {
        return "{\"store_id\":\"store-001\",\"data_dir\":" + MiniJson.quote(dataDir) + ","
            + "\"currency\":\"USD\","
            + "\"code_keys\":[{\"id\":1,\"secret_hex\":\"000102030405060708090a0b0c0d0e0f\",\"active\":true}],"
            + "\"rules\":{\"schema\":\"refpos.rules/1\",\"version\":1,\"program\":\"friends\","
            + "\"referee\":{\"percent_off_bp\":2000,\"cap_minor\":5000,\"min_spend_minor\":2000,"
            + "\"new_customers_only\":true},"
            + "\"referrer\":{\"store_credit_minor\":1000},"
            + "\"code\":{\"valid_days\":30,\"max_redemptions\":5},"
            + "\"issue\":{\"on_commit\":true,\"min_spend_minor\":0}},"
            + "\"share_link_template\":\"https://example.com/r/{code}\","
            + "\"clock\":{\"fixed_ms\":" + START_MS + "}}";
    }

    /** A cart of one-unit lines (tests/integration/plugin.cpp's cart()), with an optional code. */
    static String cart(String txnId, String customer, String code, long... unitPricesMinor) {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < unitPricesMinor.length; i++) {
            lines.append(i == 0 ? "" : ",").append("{\"sku\":\"SKU-").append(i + 1)
                .append("\",\"category\":\"general\",\"quantity\":1,\"unit_price_minor\":")
                .append(unitPricesMinor[i]).append('}');
        }
        return "{" + (txnId == null ? "" : "\"txn_id\":" + MiniJson.quote(txnId) + ",")
            + "\"terminal_id\":\"till-1\",\"cashier_id\":\"cashier-7\","
            + (customer == null ? "" : "\"customer_id\":" + MiniJson.quote(customer) + ",")
            + "\"currency\":\"USD\",\"lines\":[" + lines + "]"
            + (code == null ? "" : ",\"code\":" + MiniJson.quote(code)) + "}";
    }

    private static Object parse(String json) {
        return MiniJson.parse(json);
    }

    private static String money(Object minor) {
        if (!(minor instanceof Long)) {
            return String.valueOf(minor);
        }
        long m = (Long) minor;
        return (m < 0 ? "-" : "") + Math.abs(m / 100) + "." + String.format("%02d", Math.abs(m % 100));
    }

    private void step(String what) {
        checks.step(what);
    }

    private void check(boolean ok, String what) {
        checks.check(ok, what);
    }

    private static RefposException expectFailure(Supplier<?> call) {
        return Checks.expectFailure(call);
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
