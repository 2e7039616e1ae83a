package dev.prospector.agent.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.cli.ProspectorCommand;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.testing.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.util.io.pem.PemReader;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS and mutual TLS against a real Mosquitto with certificates made by the test: what works, and
 * the one line a user gets for each usual mistake, naming the file to fix.
 */
class TlsIT {
    private static final AtomicInteger CLIENTS = new AtomicInteger();

    @TempDir
    static Path dir;

    static TestCertificates certs;
    private static Mosquitto broker;
    private static Mosquitto plainBroker;

    private static final String USER = "device-1";
    private static final String PASSWORD = "correct horse battery staple";

    @BeforeAll
    static void makeCertificates() {
        certs = TestCertificates.generate(dir.resolve("pki"));
    }

    /** The TLS broker, started by the first test that needs it (the others run without Mosquitto). */
    static synchronized Mosquitto broker() {
        if (broker == null) {
            broker = Mosquitto.startTls(dir.resolve("mosquitto"), certs);
        }
        return broker;
    }

    /** A plain (no TLS) broker that requires {@link #USER} with {@link #PASSWORD}. */
    static synchronized Mosquitto plainBroker() throws Exception {
        if (plainBroker == null) {
            Path passwords = dir.resolve("mosquitto.passwd");
            TestCertificates.writeSecret(passwords, USER + ":" + mosquittoSha512(PASSWORD) + "\n");
            plainBroker = Mosquitto.start(
                    dir.resolve("mosquitto-plain"),
                    String.join("\n", "allow_anonymous false", "password_file " + passwords));
        }
        return plainBroker;
    }

    /** A Mosquitto password hash ({@code $6$}: SHA-512 over password and salt). */
    static String mosquittoSha512(String password) throws Exception {
        byte[] salt = new byte[12];
        new SecureRandom().nextBytes(salt);
        MessageDigest sha = MessageDigest.getInstance("SHA-512");
        sha.update(password.getBytes(StandardCharsets.UTF_8));
        sha.update(salt);
        Base64.Encoder b64 = Base64.getEncoder();
        return "$6$" + b64.encodeToString(salt) + "$" + b64.encodeToString(sha.digest());
    }

    @AfterAll
    static void stopBrokers() {
        if (broker != null) {
            broker.close();
        }
        if (plainBroker != null) {
            plainBroker.close();
        }
    }

    static MqttSettings settings(String url, TlsSettings tls) {
        return MqttSettings.of(BrokerUrl.parse(url), "tls-test-" + CLIENTS.incrementAndGet())
                .withSessionExpiry(Duration.ZERO)
                .withTls(tls);
    }

    static TlsSettings mutual() {
        return TlsSettings.mutual(certs.ca(), certs.clientCert(), certs.clientKey());
    }

    /** Connects a link with {@code tls} to {@code url} and returns the error the user would see. */
    static String connectError(String url, TlsSettings tls) {
        Failure e = assertThrows(Failure.class, () -> {
            try (MqttLink link = new MqttLink(settings(url, tls), Optional.empty(), (topic, payload) -> {})) {
                link.connect();
            }
        });
        return oneLine(e.getMessage());
    }

    static String oneLine(String message) {
        assertFalse(message.contains("\n") || message.contains("\r"), () -> "not one line: " + message);
        return message;
    }

    static void assertMentions(String message, Object... parts) {
        for (Object part : parts) {
            assertTrue(message.contains(part.toString()), () -> "'" + part + "' not in: " + message);
        }
    }

    @Test
    void mutualTlsConnectsAndPublishesAtQos1() throws Exception {
        byte[] payload = "over TLS".getBytes(StandardCharsets.UTF_8);
        CountDownLatch received = new CountDownLatch(1);
        try (MqttLink link = new MqttLink(settings(broker().sslUrl(), mutual()), Optional.empty(), (topic, bytes) -> {
            if (Arrays.equals(bytes, payload)) {
                received.countDown();
            }
        })) {
            link.connect();
            link.subscribe("prospector/v1/tls/echo", 1);
            link.publish("prospector/v1/tls/echo", payload, 1, false).get(10, TimeUnit.SECONDS); // the PUBACK
            assertTrue(received.await(10, TimeUnit.SECONDS), "the broker delivered the message back");
        }
    }

    @Test
    void brokerCertificateFromAnotherCaNamesTheCaFile() {
        String message = connectError(
                broker().sslUrl(), TlsSettings.mutual(certs.otherCa(), certs.clientCert(), certs.clientKey()));
        assertMentions(message, certs.otherCa(), "not signed by a CA in", "--ca");
    }

    @Test
    void brokerCertificateForAnotherHostIsRefused() {
        try (Mosquitto elsewhere =
                Mosquitto.start(dir.resolve("mosquitto-elsewhere"), certs.wrongHostListenerConfig())) {
            String message = connectError(elsewhere.sslUrl(), mutual());
            assertMentions(message, "not valid for host 127.0.0.1", "broker.elsewhere.example");
        }
    }

    @Test
    void expiredClientCertificateNamesTheFileAndItsExpiryBeforeConnecting() {
        Failure e = assertThrows(
                Failure.class,
                () -> new MqttLink(
                        settings(
                                broker().sslUrl(),
                                TlsSettings.mutual(certs.ca(), certs.expiredClientCert(), certs.expiredClientKey())),
                        Optional.empty(),
                        (topic, payload) -> {}));
        assertMentions(
                oneLine(e.getMessage()),
                "client certificate " + certs.expiredClientCert(),
                "expired on " + certs.expiredOn());
    }

    @Test
    void brokerRejectingAnExpiredClientCertificateIsExplainedWithTheFileAndDate() throws MqttException {
        // Our clock says the certificate is still valid, so only the broker can object.
        TlsSettings tls = TlsSettings.mutual(certs.ca(), certs.expiredClientCert(), certs.expiredClientKey());
        var factory = TlsSocketFactories.create(
                tls, Clock.fixed(certs.expiredOn().minus(Duration.ofDays(2)), ZoneOffset.UTC));
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setSocketFactory(factory);
        options.setHttpsHostnameVerificationEnabled(true);
        options.setConnectionTimeout(10);
        MqttAsyncClient client = new MqttAsyncClient(broker().sslUrl(), "tls-test-expired", new MemoryPersistence());
        try {
            MqttException e = assertThrows(
                    MqttException.class, () -> client.connect(options).waitForCompletion(15_000));
            String message = oneLine(factory.explain(e).orElseThrow(() -> new AssertionError("not explained", e)));
            // The broker's alert (certificate_expired) or, when the broker closes faster than we
            // read it, the reset that follows: either way the line names the file and the date.
            assertMentions(
                    message, "client certificate in " + certs.expiredClientCert(), "valid until " + certs.expiredOn());
        } finally {
            client.close(true);
        }
    }

    @Test
    void caFileThatIsNotPemNamesTheFile() throws Exception {
        Path notPem = dir.resolve("not-pem.txt");
        Files.writeString(notPem, "this is not a certificate\n");
        Failure e = assertThrows(Failure.class, () -> TlsSocketFactories.create(TlsSettings.serverOnly(notPem)));
        assertMentions(oneLine(e.getMessage()), "CA file " + notPem, "not a PEM certificate");
    }

    @Test
    void caFileInDerTellsHowToConvertIt() throws Exception {
        Path der = dir.resolve("ca.der");
        try (PemReader pem = new PemReader(Files.newBufferedReader(certs.ca()))) {
            Files.write(der, pem.readPemObject().getContent());
        }
        Failure e = assertThrows(Failure.class, () -> TlsSocketFactories.create(TlsSettings.serverOnly(der)));
        assertMentions(oneLine(e.getMessage()), "CA file " + der, "openssl x509 -inform der -in " + der);
    }

    @Test
    void keyFileGivenAsCaFileIsRefusedNamingIt() {
        Failure e =
                assertThrows(Failure.class, () -> TlsSocketFactories.create(TlsSettings.serverOnly(certs.clientKey())));
        assertMentions(oneLine(e.getMessage()), "CA file " + certs.clientKey(), "a private key");
    }

    @Test
    void clientKeyReadableByOthersIsRefusedWithTheFix() throws Exception {
        Path loose = dir.resolve("loose.key");
        Files.copy(certs.clientKey(), loose);
        Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-r--r--"));
        Failure e = assertThrows(
                Failure.class,
                () -> TlsSocketFactories.create(TlsSettings.mutual(certs.ca(), certs.clientCert(), loose)));
        assertMentions(oneLine(e.getMessage()), "TLS client key " + loose, "chmod 600 " + loose);
    }

    @Test
    void encryptedClientKeyIsRefusedWithTheCommandThatDecryptsIt() throws Exception {
        KeyPair keys = TestCertificates.ecKeyPair();
        var encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                .setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
                .setPassword("pass".toCharArray())
                .build();
        java.io.StringWriter pem = new java.io.StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
            w.writeObject(new JcaPKCS8Generator(keys.getPrivate(), encryptor));
        }
        Path encrypted = dir.resolve("encrypted.key");
        TestCertificates.writeSecret(encrypted, pem.toString());
        Failure e = assertThrows(Failure.class, () -> TlsSocketFactories.readPrivateKey(encrypted));
        assertMentions(
                oneLine(e.getMessage()),
                "TLS client key " + encrypted + " is encrypted",
                "openssl pkey -in " + encrypted);
    }

    @Test
    void clientKeyOfAnotherCertificateIsRefused() {
        Failure e = assertThrows(
                Failure.class,
                () -> TlsSocketFactories.create(
                        TlsSettings.mutual(certs.ca(), certs.clientCert(), certs.expiredClientKey())));
        assertMentions(
                oneLine(e.getMessage()),
                certs.expiredClientKey() + " does not belong to the certificate in " + certs.clientCert());
    }

    @Test
    void clientKeysAreReadAsPkcs8Pkcs1AndSec1() throws Exception {
        KeyPair ec = TestCertificates.ecKeyPair();
        KeyPair rsa = TestCertificates.rsaKeyPair();
        Path pkcs8 = dir.resolve("pkcs8.key");
        Path sec1 = dir.resolve("sec1.key");
        Path pkcs1 = dir.resolve("pkcs1.key");
        TestCertificates.writeSecret(pkcs8, TestCertificates.pkcs8(ec.getPrivate()));
        TestCertificates.writeSecret(sec1, TestCertificates.sec1(ec));
        TestCertificates.writeSecret(pkcs1, TestCertificates.pem(rsa.getPrivate()));
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"));
        assertTrue(Files.readString(pkcs1).contains("BEGIN RSA PRIVATE KEY"));

        assertSameKey(ec, TlsSocketFactories.readPrivateKey(pkcs8), "SHA256withECDSA");
        assertSameKey(ec, TlsSocketFactories.readPrivateKey(sec1), "SHA256withECDSA");
        assertSameKey(rsa, TlsSocketFactories.readPrivateKey(pkcs1), "SHA256withRSA");
    }

    /** {@code read} signs what {@code original}'s public key verifies. */
    static void assertSameKey(KeyPair original, PrivateKey read, String algorithm) throws Exception {
        byte[] data = "probe".getBytes(StandardCharsets.US_ASCII);
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(read);
        signer.update(data);
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(original.getPublic());
        verifier.update(data);
        assertTrue(verifier.verify(signer.sign()), "the key read is the key written");
    }

    @Test
    void caWithAPlainBrokerUrlIsRefused() {
        Failure e = assertThrows(
                Failure.class,
                () -> MqttSettings.of(BrokerUrl.parse("tcp://127.0.0.1:1883"), "c")
                        .withTls(TlsSettings.serverOnly(certs.ca())));
        assertMentions(oneLine(e.getMessage()), "ssl://127.0.0.1:8883");
    }

    @Test
    void tlsToAPlainListenerSaysSo() throws Exception {
        String message = connectError("ssl://127.0.0.1:" + plainBroker().port(), TlsSettings.serverOnly(certs.ca()));
        assertMentions(message, "is this port a TLS listener?");
    }

    @Test
    void usernameAndPasswordLetTheClientIn() throws Exception {
        var settings = MqttSettings.of(BrokerUrl.parse(plainBroker().url()), "tls-test-" + CLIENTS.incrementAndGet())
                .withSessionExpiry(Duration.ZERO)
                .withCredentials(USER, Optional.of(PASSWORD));
        try (MqttLink link = new MqttLink(settings, Optional.empty(), (topic, payload) -> {})) {
            link.connect();
            assertTrue(link.isConnected());
        }
    }

    // The command line, as a user meets it.

    record Run(int exit, String err) {
        String oneLineError() {
            assertNotEquals(0, exit, "exit code");
            List<String> lines = err.lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.size(), () -> "expected one line on stderr, got:\n" + err);
            assertFalse(err.contains("\tat "), "no stack trace");
            return lines.get(0);
        }
    }

    static Run prospector(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ProspectorCommand.execute(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, err.toString(StandardCharsets.UTF_8));
    }

    /**
     * Runs {@code prospector verifier ARGS --debug} until it has tried the broker at least twice,
     * and returns the one warning it gave about {@code failure}: a verifier waits for its broker
     * (it may start first at boot), saying why once per distinct failure (repeats at debug level).
     */
    static String verifierWarnsOnceWhileRetrying(String name, String failure, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("verifier", "--debug"));
        command.addAll(List.of(args));
        try (ProspectorProcess v = ProspectorProcess.start(dir.resolve("logs"), name, command.toArray(String[]::new))) {
            await("a second attempt")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> !v.isAlive()
                            || v.stderr().lines().anyMatch(l -> l.contains(" DEBUG ") && l.contains(failure)));
            assertTrue(v.isAlive(), () -> "the verifier gave up instead of waiting for its broker:\n" + v.stderr());
            List<String> warnings = v.stderr()
                    .lines()
                    .filter(l -> l.contains(" WARN ") && l.contains(failure))
                    .toList();
            assertEquals(
                    1, warnings.size(), () -> "one warning for one failure, however often it repeats:\n" + v.stderr());
            System.out.println(name + ": verifier kept retrying; its one warning: " + warnings.get(0));
            return warnings.get(0);
        }
    }

    @Test
    void aVerifierWithTheWrongCaKeepsRetryingAndSaysOnceWhichCaFileIsWrong() {
        String line = verifierWarnsOnceWhileRetrying(
                "verifier-wrong-ca",
                "broker " + broker().sslUrl(),
                "--broker",
                broker().sslUrl(),
                "--fleet",
                "f",
                "--ca",
                certs.otherCa().toString(),
                "--cert",
                certs.clientCert().toString(),
                "--key",
                certs.clientKey().toString());
        assertMentions(line, certs.otherCa());
    }

    @Test
    void aVerifierWithAWrongPasswordKeepsRetryingAndNeverShowsThePassword() throws Exception {
        Path password = dir.resolve("wrong.password");
        TestCertificates.writeSecret(password, "not the password\n");
        String line = verifierWarnsOnceWhileRetrying(
                "verifier-wrong-password",
                "refused our credentials",
                "--broker",
                plainBroker().url(),
                "--fleet",
                "f",
                "--username",
                USER,
                "--password-file",
                password.toString());
        assertFalse(line.contains("not the password"), "the password is never shown");
    }

    @Test
    void runWithACaFileThatIsNotPemExitsWithOneLineNamingIt() throws Exception {
        Path notPem = dir.resolve("run-ca.txt");
        Files.writeString(notPem, "not a certificate\n");
        Run run = prospector(
                "run",
                "--broker",
                "ssl://127.0.0.1:8883",
                "--fleet",
                "f",
                "--data-dir",
                dir.resolve("run-data").toString(),
                "--board",
                "emulated",
                "--ca",
                notPem.toString());
        assertMentions(run.oneLineError(), "prospector: CA file " + notPem);
    }

    @Test
    void passwordFileReadableByOthersIsRefusedWithTheFix() throws Exception {
        Path password = dir.resolve("mqtt.password");
        Files.writeString(password, "s3cret\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-r--r--"));
        Run run = prospector(
                "verifier",
                "--broker",
                "ssl://127.0.0.1:8883",
                "--fleet",
                "f",
                "--ca",
                certs.ca().toString(),
                "--username",
                "verifier",
                "--password-file",
                password.toString());
        String line = run.oneLineError();
        assertMentions(line, "password file " + password, "chmod 600 " + password);
        assertFalse(line.contains("s3cret"), "the password is never shown");
    }
}
