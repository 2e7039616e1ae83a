package dev.prospector.agent.transport;

import dev.prospector.agent.common.Failure;
import java.io.IOException;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Builds the {@link SSLSocketFactory} for a broker connection from the PEM files of
 * {@link TlsSettings}, parsed with Bouncy Castle and handed to the JDK's TLS (so keys are JDK keys
 * and no security provider is installed globally).
 *
 * <p>What it guarantees:
 * <ul>
 * <li>TLS 1.2 or 1.3 only; the broker's certificate must chain to a CA in the CA file (the JDK's
 *     PKIX validation) and name the host we dialled (endpoint identification "HTTPS", also asked of
 *     Paho by {@link MqttLink}).</li>
 * <li>Every file problem is found before the first connection and reported in one line that names
 *     the file and the fix: missing, unreadable, not PEM, not a certificate, not a key, encrypted,
 *     key readable by others (chmod 600, as for device keys), key not matching the certificate,
 *     client certificate expired or not yet valid.</li>
 * <li>Failures during the handshake are explained by {@link TlsSocketFactory#explain(Throwable)}:
 *     the broker's certificate not signed by the CA file, not valid for the host, expired; and the
 *     broker's alerts about our certificate (expired, unknown CA, required).</li>
 * </ul>
 * Files are read once per factory: to pick up renewed certificates the link is rebuilt (the
 * agent restarts).
 */
public final class TlsSocketFactories {
    /** Protocols offered; anything older is broken. */
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
    /** How the JDK words a TLS alert received from the peer. */
    private static final String ALERT = "Received fatal alert: ";
    /** Alias of the one client key in the in-memory key store. */
    private static final String CLIENT_ALIAS = "client";

    private TlsSocketFactories() {}

    /** Loads the files of {@code settings}, checking the client certificate's dates against now. */
    public static TlsSocketFactory create(TlsSettings settings) {
        return create(settings, Clock.systemUTC());
    }

    /**
     * Loads the files of {@code settings}; the client certificate must be valid at {@code clock}'s
     * now. Throws {@link Failure} with one line naming the file at fault.
     */
    public static TlsSocketFactory create(TlsSettings settings, Clock clock) {
        List<X509Certificate> cas = readCertificates(settings.caFile(), "CA file", "--ca");
        Optional<ClientIdentity> client = settings.certFile()
                .map(cert -> readClientIdentity(cert, settings.keyFile().orElseThrow(), clock.instant()));
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                trust.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            var pkix = (X509ExtendedTrustManager) tmf.getTrustManagers()[0];

            KeyManager[] keyManagers = null;
            if (client.isPresent()) {
                char[] password = randomPassword();
                KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
                keys.load(null, null);
                keys.setKeyEntry(
                        CLIENT_ALIAS,
                        client.get().key(),
                        password,
                        client.get().chain().toArray(X509Certificate[]::new));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, password);
                keyManagers = new KeyManager[] {new AlwaysPresent((X509ExtendedKeyManager) kmf.getKeyManagers()[0])};
            }
            SSLContext context = SSLContext.getInstance("TLS");
            AtomicBoolean brokerTrusted = new AtomicBoolean();
            context.init(
                    keyManagers,
                    new javax.net.ssl.TrustManager[] {new ExplainingTrustManager(pkix, settings.caFile(), brokerTrusted)
                    },
                    new SecureRandom());
            return new TlsSocketFactory(
                    context.getSocketFactory(),
                    settings,
                    client.map(c -> c.chain().get(0)),
                    brokerTrusted);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("the JDK cannot set up TLS: " + e, e);
        }
    }

    /**
     * The socket factory handed to Paho: the JDK's, with TLS 1.2/1.3 and hostname verification
     * forced on every socket, and able to explain a failed handshake in the user's terms.
     */
    public static final class TlsSocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory delegate;
        private final TlsSettings settings;
        private final Optional<X509Certificate> clientCertificate;
        /**
         * Whether the broker's certificate passed our checks in the latest handshake: tells a
         * listener that does not speak TLS from a broker that closed the connection on our
         * certificate, both of which look like "connection reset". Connections of one link are
         * made one at a time, so one flag suffices.
         */
        private final AtomicBoolean brokerTrusted;

        private TlsSocketFactory(
                SSLSocketFactory delegate,
                TlsSettings settings,
                Optional<X509Certificate> clientCertificate,
                AtomicBoolean brokerTrusted) {
            this.delegate = delegate;
            this.settings = settings;
            this.clientCertificate = clientCertificate;
            this.brokerTrusted = brokerTrusted;
        }

        public TlsSettings settings() {
            return settings;
        }

        /** When the client certificate stops being valid; empty without mutual TLS. */
        public Optional<Instant> clientCertificateExpiry() {
            return clientCertificate.map(c -> c.getNotAfter().toInstant());
        }

        /**
         * Why a connection failed, in one line that names the file to fix, when the failure is a
         * TLS one (anywhere in {@code failure}'s causes); empty otherwise. The line reads after
         * "broker URL: ".
         */
        public Optional<String> explain(Throwable failure) {
            List<Throwable> causes = new ArrayList<>();
            for (Throwable t = failure; t != null && causes.size() < 20; t = t.getCause() == t ? null : t.getCause()) {
                causes.add(t);
            }
            for (Throwable t : causes) {
                if (t instanceof ServerCertificateRejected rejected) {
                    return Optional.of(rejected.getMessage());
                }
            }
            for (Throwable t : causes) {
                String message = t.getMessage() == null ? "" : t.getMessage();
                if (t instanceof SSLException && message.startsWith(ALERT)) {
                    return Optional.of(
                            explainAlert(message.substring(ALERT.length()).trim()));
                }
            }
            for (Throwable t : causes) {
                if (t instanceof SSLException
                        || t instanceof java.io.EOFException
                        || (t instanceof java.net.SocketException
                                && !(t instanceof java.net.ConnectException)
                                && !(t instanceof java.net.NoRouteToHostException))) {
                    return Optional.of(explainClosed(
                            t.getMessage() == null ? t.getClass().getSimpleName() : oneLine(t.getMessage())));
                }
            }
            return Optional.empty();
        }

        /** The connection broke without an alert: before or after the broker's certificate was checked. */
        private String explainClosed(String why) {
            if (!brokerTrusted.get()) {
                return "no TLS handshake with it (" + why + "): is this port a TLS listener? use tcp:// for a plain"
                        + " listener, or the broker's TLS port (usually 8883)";
            }
            if (clientCertificate.isPresent()) {
                X509Certificate c = clientCertificate.get();
                return "it closed the connection after the TLS handshake began (" + why
                        + "): it most likely refused the"
                        + " client certificate in " + settings.certFile().orElseThrow() + " (valid until "
                        + date(c.getNotAfter().toInstant()) + ", issued by "
                        + name(c.getIssuerX500Principal().getName())
                        + "); check that it is current and issued by the CA in the broker's cafile; the broker's log says why";
            }
            return "it closed the TLS connection (" + why + "): it may require a client certificate (pass --cert FILE"
                    + " and --key FILE); the broker's log says why";
        }

        private String explainAlert(String alert) {
            String cert = settings.certFile().map(Path::toString).orElse("");
            String validity = clientCertificate
                    .map(c -> " (valid until " + date(c.getNotAfter().toInstant()) + ")")
                    .orElse("");
            String issuer = clientCertificate
                    .map(c -> ", issued by " + name(c.getIssuerX500Principal().getName()))
                    .orElse("");
            switch (alert) {
                case "certificate_expired":
                    return clientCertificate.isPresent()
                            ? "it rejected the client certificate in " + cert + " as expired" + validity
                                    + ": renew the certificate, and check the clocks of this machine and the broker"
                            : "it reports an expired certificate (TLS alert certificate_expired): check the broker's log";
                case "unknown_ca",
                        "bad_certificate",
                        "certificate_unknown",
                        "unsupported_certificate",
                        "certificate_revoked",
                        "access_denied":
                    return clientCertificate.isPresent()
                            ? "it does not accept the client certificate in " + cert + issuer + " (TLS alert " + alert
                                    + "): have it issued by the CA in the broker's cafile, for client authentication"
                            : "it refused the TLS connection (alert " + alert
                                    + "): it may require a client certificate: pass --cert FILE and --key FILE";
                case "certificate_required", "handshake_failure":
                    return clientCertificate.isPresent()
                            ? "TLS handshake failed (alert " + alert
                                    + "): the broker refused the client certificate in " + cert + issuer
                                    + " or shares no cipher with us; see the broker's log"
                            : "it requires a client certificate (TLS alert " + alert
                                    + "): pass --cert FILE and --key FILE";
                case "protocol_version":
                    return "it shares no TLS version with us (we offer TLS 1.2 and 1.3): allow tls_version tlsv1.2 or later on the broker";
                default:
                    break;
            }
            return "TLS handshake failed (alert " + alert + "): check --ca " + settings.caFile()
                    + (settings.mutual()
                            ? ", --cert " + cert + " and --key "
                                    + settings.keyFile().orElseThrow()
                            : "")
                    + " and the broker's log";
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return configure(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return configure(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return configure(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return configure(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return configure(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return configure(delegate.createSocket(address, port, localAddress, localPort));
        }

        /** Every new socket is a new connection attempt: forget the previous handshake. */
        private Socket configure(Socket socket) throws IOException {
            brokerTrusted.set(false);
            PlainSocketFactory.noDelay(socket); // as for plain TCP: see PlainSocketFactory
            if (socket instanceof SSLSocket ssl) {
                SSLParameters p = ssl.getSSLParameters();
                p.setProtocols(PROTOCOLS);
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
            }
            return socket;
        }
    }

    /** The broker's certificate failed our checks; the message is the one line for the user. */
    static final class ServerCertificateRejected extends CertificateException {
        private static final long serialVersionUID = 1L;

        ServerCertificateRejected(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * PKIX validation of the broker's certificate, with a failure that says which of the three
     * usual causes it is (untrusted CA, wrong host, expired) and names the CA file.
     */
    private static final class ExplainingTrustManager extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager pkix;
        private final Path caFile;
        private final AtomicBoolean trusted;

        ExplainingTrustManager(X509ExtendedTrustManager pkix, Path caFile, AtomicBoolean trusted) {
            this.pkix = pkix;
            this.caFile = caFile;
            this.trusted = trusted;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            try {
                pkix.checkServerTrusted(chain, authType, socket);
                trusted.set(true);
            } catch (CertificateException e) {
                String host = socket instanceof SSLSocket ssl && ssl.getHandshakeSession() != null
                        ? ssl.getHandshakeSession().getPeerHost()
                        : "the broker";
                throw diagnose(chain, authType, host, e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            try {
                pkix.checkServerTrusted(chain, authType, engine);
                trusted.set(true);
            } catch (CertificateException e) {
                throw diagnose(chain, authType, engine == null ? "the broker" : engine.getPeerHost(), e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            try {
                pkix.checkServerTrusted(chain, authType);
                trusted.set(true);
            } catch (CertificateException e) {
                throw diagnose(chain, authType, "the broker", e);
            }
        }

        private ServerCertificateRejected diagnose(
                X509Certificate[] chain, String authType, String host, CertificateException e) {
            if (chain == null || chain.length == 0) {
                return new ServerCertificateRejected(
                        "it sent no certificate: check certfile in the broker's configuration", e);
            }
            X509Certificate leaf = chain[0];
            String subject = name(leaf.getSubjectX500Principal().getName());
            String issuer = name(leaf.getIssuerX500Principal().getName());
            Instant now = Instant.now();
            if (now.isAfter(leaf.getNotAfter().toInstant())) {
                return new ServerCertificateRejected(
                        "its certificate (" + subject + ") expired on "
                                + date(leaf.getNotAfter().toInstant())
                                + ": renew the broker's certificate (certfile in mosquitto.conf),"
                                + " or check this machine's clock",
                        e);
            }
            if (now.isBefore(leaf.getNotBefore().toInstant())) {
                return new ServerCertificateRejected(
                        "its certificate (" + subject + ") is not valid before "
                                + date(leaf.getNotBefore().toInstant()) + ": check this machine's clock (timedatectl)",
                        e);
            }
            boolean trusted;
            try {
                pkix.checkServerTrusted(chain, authType); // the chain alone, without the host name check
                trusted = true;
            } catch (CertificateException chainProblem) {
                trusted = false;
            }
            if (trusted) {
                return new ServerCertificateRejected(
                        "its certificate (" + subject + ") is not valid for host " + host
                                + " (it names " + alternativeNames(leaf)
                                + "): use a name from the certificate in --broker,"
                                + " or reissue the broker's certificate with subjectAltName " + host,
                        e);
            }
            return new ServerCertificateRejected(
                    "its certificate (" + subject + ", issued by " + issuer
                            + ") is not signed by a CA in " + caFile
                            + " (--ca): pass the CA certificate that issued the"
                            + " broker's certificate",
                    e);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            pkix.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            pkix.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pkix.checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }

    /**
     * The JDK's key manager presents a certificate only if its issuer is in the broker's list of
     * acceptable CAs. We have exactly one certificate: present it anyway, so that a mismatch
     * comes back as the broker's alert (which {@link TlsSocketFactory#explain} names) instead of
     * a silent "no certificate".
     */
    private static final class AlwaysPresent extends X509ExtendedKeyManager {
        private final X509ExtendedKeyManager delegate;

        AlwaysPresent(X509ExtendedKeyManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, Socket socket) {
            return delegate.chooseClientAlias(keyType, null, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, SSLEngine engine) {
            return delegate.chooseEngineClientAlias(keyType, null, engine);
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return delegate.getClientAliases(keyType, null);
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return delegate.getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, java.security.Principal[] issuers, Socket socket) {
            return delegate.chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return delegate.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return delegate.getPrivateKey(alias);
        }
    }

    private record ClientIdentity(List<X509Certificate> chain, PrivateKey key) {}

    private static ClientIdentity readClientIdentity(Path certFile, Path keyFile, Instant now) {
        List<X509Certificate> chain = readCertificates(certFile, "client certificate file", "--cert");
        X509Certificate leaf = chain.get(0);
        if (now.isAfter(leaf.getNotAfter().toInstant())) {
            throw new Failure("client certificate " + certFile + " expired on "
                    + date(leaf.getNotAfter().toInstant())
                    + ": the broker will refuse it; have the CA issue a new one (or check this machine's clock)");
        }
        if (now.isBefore(leaf.getNotBefore().toInstant())) {
            throw new Failure("client certificate " + certFile + " is not valid before "
                    + date(leaf.getNotBefore().toInstant())
                    + ": check this machine's clock (timedatectl) or wait until then");
        }
        try {
            List<String> usages = leaf.getExtendedKeyUsage();
            if (usages != null && !usages.contains("1.3.6.1.5.5.7.3.2") && !usages.contains("2.5.29.37.0")) {
                throw new Failure(
                        "client certificate " + certFile + " is not for client authentication"
                                + " (its extended key usage lacks clientAuth): have the CA issue one with extendedKeyUsage = clientAuth");
            }
        } catch (CertificateParsingException e) {
            throw new Failure("client certificate " + certFile
                    + " has a malformed extended key usage: have the CA issue a new one");
        }
        PrivateKey key = readPrivateKey(keyFile);
        requireMatchingKey(leaf, key, certFile, keyFile);
        return new ClientIdentity(chain, key);
    }

    /** All certificates of a PEM file, in order; anything else in it is an error naming the file. */
    static List<X509Certificate> readCertificates(Path file, String what, String option) {
        String text = readText(file, what, option);
        var converter = new JcaX509CertificateConverter();
        List<X509Certificate> certificates = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (!(o instanceof X509CertificateHolder holder)) {
                    throw new Failure(what + " " + file + " contains " + describePem(o) + ", not only certificates:"
                            + " " + option + " takes PEM certificates (-----BEGIN CERTIFICATE-----)");
                }
                certificates.add(converter.getCertificate(holder));
            }
        } catch (IOException | CertificateException | RuntimeException e) {
            if (e instanceof Failure u) {
                throw u;
            }
            throw new Failure(what + " " + file + " is not valid PEM (" + oneLine(e.getMessage()) + "): " + option
                    + " takes PEM certificates (-----BEGIN CERTIFICATE-----)");
        }
        if (certificates.isEmpty()) {
            throw new Failure(what + " " + file + " is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)"
                    + (looksLikeDer(text)
                            ? "; it looks like DER: convert it with: openssl x509 -inform der -in " + file + " -out "
                                    + file + ".pem"
                            : ": " + option + " takes PEM certificates"));
        }
        return certificates;
    }

    /** A private key in PEM: PKCS#8 (BEGIN PRIVATE KEY), PKCS#1 (BEGIN RSA PRIVATE KEY) or SEC1 (BEGIN EC PRIVATE KEY). */
    static PrivateKey readPrivateKey(Path file) {
        String what = "TLS client key";
        TlsSettings.requireOwnerOnly(file, what);
        String text = readText(file, what, "--key");
        var converter = new JcaPEMKeyConverter();
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof ASN1ObjectIdentifier || o instanceof X9ECParameters) {
                    continue; // "EC PARAMETERS" that openssl writes before a SEC1 key
                }
                if (o instanceof PEMKeyPair pair) { // PKCS#1 or SEC1; SEC1 may omit the public key
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new Failure(what + " " + file + " is encrypted and the agent cannot ask for a passphrase:"
                            + " decrypt it with: openssl pkey -in " + file
                            + " -out KEY.pem, then chmod 600 KEY.pem and pass --key KEY.pem");
                }
                throw new Failure(what + " " + file + " contains " + describePem(o) + ", not a private key:"
                        + " --key takes the PEM private key (-----BEGIN PRIVATE KEY-----), --cert the certificate");
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof Failure u) {
                throw u;
            }
            throw new Failure(what + " " + file + " is not a valid PEM private key (" + oneLine(e.getMessage())
                    + "): --key takes PKCS#8, PKCS#1 or SEC1 PEM");
        }
        throw new Failure(what + " " + file + " is not a PEM private key (no -----BEGIN PRIVATE KEY----- line):"
                + " --key takes PKCS#8, PKCS#1 or SEC1 PEM");
    }

    private static void requireMatchingKey(X509Certificate leaf, PrivateKey key, Path certFile, Path keyFile) {
        String algorithm = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "ED25519", "EDDSA" -> "Ed25519";
            case "ED448" -> "Ed448";
            default -> null;
        };
        if (algorithm == null) {
            return; // an algorithm we cannot test here; the handshake will
        }
        boolean matches;
        try {
            byte[] probe = "prospector key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(leaf.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false; // e.g. an RSA key with an EC certificate
        }
        if (!matches) {
            throw new Failure("TLS client key " + keyFile + " does not belong to the certificate in " + certFile
                    + ": pass the key that was generated with that certificate");
        }
    }

    private static String readText(Path file, String what, String option) {
        try {
            // Latin-1 maps every byte, so a binary (DER) file reads without a decoding error.
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new Failure(what + " " + file + " does not exist: check " + option);
        } catch (AccessDeniedException e) {
            throw new Failure(
                    "cannot read " + what + " " + file + " (permission denied): let the service user read it");
        } catch (IOException e) {
            throw new Failure(
                    "cannot read " + what + " " + file + " (" + oneLine(e.getMessage()) + "): check " + option);
        }
    }

    private static boolean looksLikeDer(String text) {
        return !text.isEmpty() && text.charAt(0) == 0x30;
    }

    private static String describePem(Object o) {
        if (o instanceof PEMKeyPair
                || o instanceof PrivateKeyInfo
                || o instanceof PEMEncryptedKeyPair
                || o instanceof PKCS8EncryptedPrivateKeyInfo) {
            return "a private key";
        }
        if (o instanceof X509CertificateHolder) {
            return "a certificate";
        }
        return "a "
                + o.getClass()
                        .getSimpleName()
                        .replaceAll("([a-z])([A-Z])", "$1 $2")
                        .toLowerCase(Locale.ROOT);
    }

    private static String alternativeNames(X509Certificate leaf) {
        try {
            Collection<List<?>> names = leaf.getSubjectAlternativeNames();
            if (names == null || names.isEmpty()) {
                return "no subjectAltName";
            }
            return names.stream()
                    .map(n -> (Integer) n.get(0) == 7
                            ? "IP:" + n.get(1)
                            : (Integer) n.get(0) == 2 ? "DNS:" + n.get(1) : String.valueOf(n.get(1)))
                    .collect(Collectors.joining(", "));
        } catch (CertificateParsingException e) {
            return "a malformed subjectAltName";
        }
    }

    static String date(Instant instant) {
        return instant.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static String name(String x500) {
        return oneLine(x500);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }

    private static char[] randomPassword() {
        // Protects the in-memory key store entry only; never written anywhere.
        var random = new SecureRandom();
        char[] password = new char[24];
        for (int i = 0; i < password.length; i++) {
            password[i] = (char) ('a' + random.nextInt(26));
        }
        return password;
    }
}
