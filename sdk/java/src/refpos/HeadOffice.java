package refpos;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real head office for SyncCheck, made as tests/hq_server/harness.cpp and
 * sdk/python/tests/head_office.py make one: a chain made by
 * {@code refposctl chain init}, stores provisioned by
 * {@code refposctl store provision}, and the refpos-hq process on 127.0.0.1
 * with port 0.
 *
 * <p>Synchronisation is by events, never by sleeping: refpos-hq writes
 * "listening on 127.0.0.1:PORT" on stdout once it accepts connections, and
 * its exit is waited for. Every wait has a bound, {@link #GUARD_S}, that only
 * guards against a hang.
 */
final class HeadOffice implements AutoCloseable {
    static final long GUARD_S = 20; // a hang, not a slow machine
    private static final String LISTENING = "listening on 127.0.0.1:";

    /** A chain's CA and head-office credentials in a folder. */
    static final class Chain {
        final String ctl;
        final Path folder;
        final String signingPublicKeyHex;

        Chain(String ctl, Path folder) throws IOException, InterruptedException {
            this.ctl = ctl;
            this.folder = folder;
            run(folder.resolveSibling("chain-init.log"), ctl, "chain", "init", "--dir", folder.toString(),
                "--name", "java");
            this.signingPublicKeyHex = Files.readString(folder.resolve("hq").resolve("signing.pub")).trim();
        }

        /**
         * A certificate for {@code storeId} with its key in
         * {@code storeFolder}: the TLS members of the store configuration's
         * "sync" section, as JSON members ("ca_file":..,"cert_file":..,"key_file":..).
         */
        String provision(String storeId, Path storeFolder) throws IOException, InterruptedException {
            Files.createDirectories(storeFolder);
            run(storeFolder.resolve("provision.log"), ctl, "store", "provision", "--chain", folder.toString(),
                "--store-dir", storeFolder.toString(), "--store-id", storeId);
            Path tls = storeFolder.resolve("tls");
            return "\"ca_file\":" + MiniJson.quote(tls.resolve("ca.pem").toString())
                + ",\"cert_file\":" + MiniJson.quote(tls.resolve("store.pem").toString())
                + ",\"key_file\":" + MiniJson.quote(tls.resolve("store.key").toString());
        }
    }

    private final Process process;
    private final Path logFile;
    private final String url;

    private HeadOffice(Process process, Path logFile, String url) {
        this.process = process;
        this.logFile = logFile;
        this.url = url;
    }

    /** Starts refpos-hq for {@code chain}, with its database and log in {@code folder}. */
    static HeadOffice start(String hq, Chain chain, Path folder) throws IOException, InterruptedException {
        Files.createDirectories(folder);
        Path credentials = chain.folder;
        Path logFile = folder.resolve("hq.log");
        ProcessBuilder builder = programs(List.of(hq, "--listen", "127.0.0.1", "--port", "0",
            "--data-dir", folder.resolve("data").toString(),
            "--ca-file", credentials.resolve("ca/ca.pem").toString(),
            "--crl-file", credentials.resolve("ca/crl.pem").toString(),
            "--cert-file", credentials.resolve("hq/server.pem").toString(),
            "--key-file", credentials.resolve("hq/server.key").toString(),
            "--signing-key-file", credentials.resolve("hq/signing.key").toString()));
        builder.redirectError(logFile.toFile());
        Process process = builder.start();
        String line = firstLine(process);
        process.getInputStream().close(); // nothing more is written there
        String port = line != null && line.startsWith(LISTENING) ? line.substring(LISTENING.length()).trim() : "";
        if (!port.matches("[0-9]{1,5}")) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("refpos-hq did not start; stdout \"" + line + "\", log:\n"
                + Files.readString(logFile));
        }
        return new HeadOffice(process, logFile, "https://127.0.0.1:" + port);
    }

    /** https://127.0.0.1:PORT */
    String url() {
        return url;
    }

    /**
     * A store configuration's "sync" section for this head office, as the
     * JSON object's text.
     */
    String syncSection(Chain chain, String tlsMembers, int batchEvents) {
        return "{" + tlsMembers + ",\"url\":" + MiniJson.quote(url)
            + ",\"signing_public_key_hex\":" + MiniJson.quote(chain.signingPublicKeyHex)
            + ",\"batch_events\":" + batchEvents + ",\"timeout_ms\":" + GUARD_S * 1000 + "}";
    }

    /** Sends SIGTERM and requires a clean exit (0) within the guard. */
    @Override
    public void close() throws IOException {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        boolean exited;
        try {
            exited = process.waitFor(GUARD_S, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exited = false;
        }
        if (!exited) {
            process.destroyForcibly();
            throw new IllegalStateException("refpos-hq did not exit after SIGTERM; its log:\n"
                + Files.readString(logFile));
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("refpos-hq exited " + process.exitValue() + " after SIGTERM; its log:\n"
                + Files.readString(logFile));
        }
    }

    /**
     * What refpos-hq wrote on stdout up to its first newline (null at EOF),
     * within the guard.
     */
    private static String firstLine(Process process) throws InterruptedException {
        BufferedReader stdout = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return stdout.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        try {
            return line.get(GUARD_S, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return null; // the caller reports it with the log
        }
    }

    /** Runs refposctl to its end; its output goes to {@code logFile}, shown if it fails. */
    private static void run(Path logFile, String... command) throws IOException, InterruptedException {
        ProcessBuilder builder = programs(List.of(command));
        builder.redirectErrorStream(true);
        builder.redirectOutput(logFile.toFile());
        Process process = builder.start();
        if (!process.waitFor(GUARD_S, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException(String.join(" ", command) + " hung");
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + process.exitValue() + ":\n"
                + Files.readString(logFile));
        }
    }

    /**
     * refpos-hq reads REFPOS_HQ_* over its flags' defaults and refposctl
     * takes its clock from REFPOS_CTL_NOW: none of the caller's may leak in.
     * LD_PRELOAD is the JVM's sanitizer runtime (java_tests.cmake): the
     * programs carry their own, and a second one refuses to start.
     */
    private static ProcessBuilder programs(List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(command));
        builder.environment().keySet().removeIf(name -> name.startsWith("REFPOS_HQ_")
            || name.startsWith("REFPOS_CTL_") || name.equals("LD_PRELOAD"));
        return builder;
    }
}
