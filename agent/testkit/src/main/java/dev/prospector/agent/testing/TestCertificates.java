package dev.prospector.agent.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A small PKI for TLS tests, made with Bouncy Castle and written as PEM files: a CA; a broker
 * certificate for 127.0.0.1 and localhost (subjectAltName); a valid and an expired client
 * certificate from that CA; and a second, unrelated CA; on demand ({@link #issueClient}) client
 * certificates with a chosen CN. Keys are EC P-256 (fast to make); private
 * keys are written with mode 0600, the server's in SEC1 (BEGIN EC PRIVATE KEY), the clients' in
 * PKCS#8 (BEGIN PRIVATE KEY).
 *
 * @param ca the CA that signed the broker's and the clients' certificates
 * @param serverCert broker certificate (CN=localhost, SAN IP:127.0.0.1, DNS:localhost)
 * @param serverKey its key
 * @param clientCert a client certificate valid for a year
 * @param clientKey its key
 * @param expiredClientCert a client certificate that expired yesterday
 * @param expiredClientKey its key
 * @param expiredOn when {@code expiredClientCert} expired (whole seconds)
 * @param otherCa a CA that signed nothing here
 * @param wrongHostCert a broker certificate from {@code ca} for broker.elsewhere.example only
 * @param wrongHostKey its key
 */
public record TestCertificates(
        Path ca,
        Path serverCert,
        Path serverKey,
        Path clientCert,
        Path clientKey,
        Path expiredClientCert,
        Path expiredClientKey,
        Instant expiredOn,
        Path otherCa,
        Path wrongHostCert,
        Path wrongHostKey) {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String CA_KEY_FILE = "ca.key";
    private static final java.util.regex.Pattern COMMON_NAME =
            java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    /**
     * A client certificate and its key (PKCS#8, mode 0600).
     *
     * @param commonName the certificate's CN, which Mosquitto's {@code use_identity_as_username}
     *     makes the MQTT user name
     */
    public record ClientCertificate(String commonName, Path cert, Path key) {}

    /** Generates everything into {@code dir}. */
    public static TestCertificates generate(Path dir) {
        try {
            Files.createDirectories(dir);
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            Instant yearAgo = now.minus(Duration.ofDays(365));
            Instant inAYear = now.plus(Duration.ofDays(365));

            KeyPair caKeys = ecKeyPair();
            X509Certificate ca = caCertificate("CN=Prospector Test CA", caKeys, yearAgo, inAYear);
            KeyPair otherKeys = ecKeyPair();
            X509Certificate other = caCertificate("CN=Unrelated Test CA", otherKeys, yearAgo, inAYear);

            KeyPair serverKeys = ecKeyPair();
            X509Certificate server = leaf(
                    "CN=localhost",
                    serverKeys,
                    ca,
                    caKeys.getPrivate(),
                    yearAgo,
                    inAYear,
                    KeyPurposeId.id_kp_serverAuth,
                    new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                        new GeneralName(GeneralName.dNSName, "localhost")
                    }));

            KeyPair elsewhereKeys = ecKeyPair();
            X509Certificate elsewhere = leaf(
                    "CN=broker.elsewhere.example",
                    elsewhereKeys,
                    ca,
                    caKeys.getPrivate(),
                    yearAgo,
                    inAYear,
                    KeyPurposeId.id_kp_serverAuth,
                    new GeneralNames(new GeneralName(GeneralName.dNSName, "broker.elsewhere.example")));

            KeyPair clientKeys = ecKeyPair();
            X509Certificate client = leaf(
                    "CN=device-1",
                    clientKeys,
                    ca,
                    caKeys.getPrivate(),
                    yearAgo,
                    inAYear,
                    KeyPurposeId.id_kp_clientAuth,
                    null);

            Instant expiredOn = now.minus(Duration.ofDays(1));
            KeyPair expiredKeys = ecKeyPair();
            X509Certificate expired = leaf(
                    "CN=device-2",
                    expiredKeys,
                    ca,
                    caKeys.getPrivate(),
                    expiredOn.minus(Duration.ofDays(30)),
                    expiredOn,
                    KeyPurposeId.id_kp_clientAuth,
                    null);

            var files = new TestCertificates(
                    dir.resolve("ca.pem"),
                    dir.resolve("server.pem"),
                    dir.resolve("server.key"),
                    dir.resolve("client.pem"),
                    dir.resolve("client.key"),
                    dir.resolve("expired.pem"),
                    dir.resolve("expired.key"),
                    expiredOn,
                    dir.resolve("other-ca.pem"),
                    dir.resolve("elsewhere.pem"),
                    dir.resolve("elsewhere.key"));
            writePem(files.ca(), ca);
            // Kept beside ca.pem so that issueClient can make more client certificates later.
            writeSecret(dir.resolve(CA_KEY_FILE), pkcs8(caKeys.getPrivate()));
            writePem(files.otherCa(), other);
            writePem(files.serverCert(), server);
            writeSecret(files.serverKey(), sec1(serverKeys));
            writePem(files.clientCert(), client);
            writeSecret(files.clientKey(), pkcs8(clientKeys.getPrivate()));
            writePem(files.wrongHostCert(), elsewhere);
            writeSecret(files.wrongHostKey(), sec1(elsewhereKeys));
            writePem(files.expiredClientCert(), expired);
            writeSecret(files.expiredClientKey(), pkcs8(expiredKeys.getPrivate()));
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make test certificates", e);
        }
    }

    /**
     * Issues a client certificate from {@link #ca()}, valid for a year, whose CN is
     * {@code commonName} (letters, digits, '.', '_', '-'), written as {@code client-<CN>.pem} and
     * {@code client-<CN>.key} beside the CA.
     */
    public ClientCertificate issueClient(String commonName) {
        if (!COMMON_NAME.matcher(commonName).matches()) {
            throw new IllegalArgumentException("not a plain common name: " + commonName);
        }
        try {
            X509Certificate caCert;
            PrivateKey caKey;
            try (var parser = new org.bouncycastle.openssl.PEMParser(Files.newBufferedReader(ca))) {
                caCert = new JcaX509CertificateConverter()
                        .getCertificate((org.bouncycastle.cert.X509CertificateHolder) parser.readObject());
            }
            try (var parser =
                    new org.bouncycastle.openssl.PEMParser(Files.newBufferedReader(ca.resolveSibling(CA_KEY_FILE)))) {
                caKey = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter()
                        .getPrivateKey((PrivateKeyInfo) parser.readObject());
            }
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            KeyPair keys = ecKeyPair();
            X509Certificate cert = leaf(
                    "CN=" + commonName,
                    keys,
                    caCert,
                    caKey,
                    now.minus(Duration.ofDays(1)),
                    now.plus(Duration.ofDays(365)),
                    KeyPurposeId.id_kp_clientAuth,
                    null);
            var issued = new ClientCertificate(
                    commonName,
                    ca.resolveSibling("client-" + commonName + ".pem"),
                    ca.resolveSibling("client-" + commonName + ".key"));
            writePem(issued.cert(), cert);
            writeSecret(issued.key(), pkcs8(keys.getPrivate()));
            return issued;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot issue a client certificate for " + commonName, e);
        }
    }

    /** Mosquitto lines for a TLS listener that requires a client certificate from {@link #ca()}. */
    public String mosquittoListenerConfig() {
        return listenerConfig(serverCert, serverKey);
    }

    /** As {@link #mosquittoListenerConfig()}, but the broker presents {@link #wrongHostCert()}. */
    public String wrongHostListenerConfig() {
        return listenerConfig(wrongHostCert, wrongHostKey);
    }

    private String listenerConfig(Path cert, Path key) {
        return String.join(
                "\n",
                // The Mosquitto fixture already keeps the broker as the test's user, so it can
                // read the test's 0600 key.
                "cafile " + ca.toAbsolutePath(),
                "certfile " + cert.toAbsolutePath(),
                "keyfile " + key.toAbsolutePath(),
                "require_certificate true",
                "use_identity_as_username true",
                "tls_version tlsv1.2");
    }

    public static KeyPair ecKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    public static KeyPair rsaKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048, RANDOM);
        return g.generateKeyPair();
    }

    private static X509Certificate caCertificate(String name, KeyPair keys, Instant from, Instant to)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        var utils = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                        new X500Name(name),
                        serial(),
                        Date.from(from),
                        Date.from(to),
                        new X500Name(name),
                        keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                .addExtension(
                        Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
        return sign(b, keys.getPrivate());
    }

    /** A certificate for {@code keys} signed by {@code issuer}; {@code names} may be null. */
    public static X509Certificate leaf(
            String subject,
            KeyPair keys,
            X509Certificate issuer,
            PrivateKey issuerKey,
            Instant from,
            Instant to,
            KeyPurposeId purpose,
            GeneralNames names)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        var utils = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                        issuer, serial(), Date.from(from), Date.from(to), new X500Name(subject), keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(
                        Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                .addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()))
                .addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuer));
        if (names != null) {
            b.addExtension(Extension.subjectAlternativeName, false, names);
        }
        return sign(b, issuerKey);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
            throws GeneralSecurityException, OperatorCreationException {
        String alg = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(key)));
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }

    /** SEC1 PEM (BEGIN EC PRIVATE KEY) with curve and public key, as {@code openssl ecparam -genkey} writes it. */
    public static String sec1(KeyPair keys) throws IOException {
        var info = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
        var point =
                SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()).getPublicKeyData();
        var key = new ECPrivateKey(
                256,
                ((java.security.interfaces.ECPrivateKey) keys.getPrivate()).getS(),
                point,
                info.getPrivateKeyAlgorithm().getParameters());
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(new PemObject("EC PRIVATE KEY", key.getEncoded()));
        }
        return s.toString();
    }

    /** PEM of a certificate or an RSA key (PKCS#1, BEGIN RSA PRIVATE KEY) as BC's writer makes it. */
    public static String pem(Object o) throws IOException {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(o);
        }
        return s.toString();
    }

    /** PKCS#8 PEM (BEGIN PRIVATE KEY). */
    public static String pkcs8(PrivateKey key) throws IOException {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(new JcaPKCS8Generator(key, null));
        }
        return s.toString();
    }

    private static void writePem(Path file, Object o) throws IOException {
        Files.writeString(file, pem(o));
    }

    /** Writes a secret with mode 0600. */
    public static void writeSecret(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content);
    }
}
