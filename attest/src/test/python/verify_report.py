#!/usr/bin/env python3
"""Independent verifier of Prospector reports, written from docs/EVIDENCE.md alone.

Uses only the Python 3 standard library: hashlib, base64, and the Ed25519 reference code of
RFC 8032 section 6 (copied below). It shares no code with the Java implementation.

    python3 verify_report.py REPORT_FILE [--audit-leaves K]   # raw bytes, or hex text
    python3 verify_report.py --self-test   # RFC 8032 test vectors for the Ed25519 code

When the report answers a storage audit (claim pos with "plot" and "audit", section 4.1), the
answer is checked too, for an audit of K leaves (default 8) of the report's nonce: "storage audit:
passed" or "storage audit: failed: ..." (exit status 1).

Exit status 0 and "signature: valid" when the report is a well-formed tagged COSE_Sign1 whose
EdDSA signature verifies with the key in its payload, whose dev is the device id of that key (or of
the first key of its rotation chain) and whose kid equals dev; otherwise "signature: invalid" or
"malformed: ..." and exit status 1.
"""
import base64
import hashlib
import json
import struct
import sys

# ---------------------------------------------------------------- RFC 8032 section 6 (Ed25519)

def sha512(s):
    return hashlib.sha512(s).digest()

p = 2**255 - 19
def modp_inv(x):
    return pow(x, p - 2, p)
d = -121665 * modp_inv(121666) % p
q = 2**252 + 27742317777372353535851937790883648493

def point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % p, (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C, D = 2 * P[3] * Q[3] * d % p, 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)

def point_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = point_add(Q, P)
        P = point_add(P, P)
        s >>= 1
    return Q

def point_equal(P, Q):
    if (P[0] * Q[2] - Q[0] * P[2]) % p != 0:
        return False
    if (P[1] * Q[2] - Q[1] * P[2]) % p != 0:
        return False
    return True

modp_sqrt_m1 = pow(2, (p - 1) // 4, p)

def recover_x(y, sign):
    if y >= p:
        return None
    x2 = (y * y - 1) * modp_inv(d * y * y + 1)
    if x2 == 0:
        if sign:
            return None
        return 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0:
        x = x * modp_sqrt_m1 % p
    if (x * x - x2) % p != 0:
        return None
    if (x & 1) != sign:
        x = p - x
    return x

g_y = 4 * modp_inv(5) % p
g_x = recover_x(g_y, 0)
G = (g_x, g_y, 1, g_x * g_y % p)

def point_compress(P):
    zinv = modp_inv(P[2])
    x = P[0] * zinv % p
    y = P[1] * zinv % p
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")

def point_decompress(s):
    if len(s) != 32:
        raise Exception("Invalid input length for decompression")
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % p)

def secret_expand(secret):
    if len(secret) != 32:
        raise Exception("Bad size of private key")
    h = sha512(secret)
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= (1 << 254)
    return (a, h[32:])

def secret_to_public(secret):
    (a, _) = secret_expand(secret)
    return point_compress(point_mul(a, G))

def sha512_modq(s):
    return int.from_bytes(sha512(s), "little") % q

def sign(secret, msg):
    a, prefix = secret_expand(secret)
    A = point_compress(point_mul(a, G))
    r = sha512_modq(prefix + msg)
    R = point_mul(r, G)
    Rs = point_compress(R)
    h = sha512_modq(Rs + A + msg)
    s = (r + h * a) % q
    return Rs + int.to_bytes(s, 32, "little")

def verify(public, msg, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    A = point_decompress(public)
    if not A:
        return False
    Rs = signature[:32]
    R = point_decompress(Rs)
    if not R:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= q:
        return False
    h = sha512_modq(Rs + public + msg)
    sB = point_mul(s, G)
    hA = point_mul(h, A)
    return point_equal(sB, point_add(R, hA))

# ---------------------------------------------------------------- CBOR (RFC 8949), strict

class Malformed(Exception):
    pass

class Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value

class Decoder:
    """Decodes one data item, insisting on the deterministic encoding of RFC 8949 section 4.2.1."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            raise Malformed("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise Malformed("length beyond the input")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def argument(self, info):
        if info < 24:
            return info
        if info not in (24, 25, 26, 27):
            raise Malformed("indefinite length or reserved value")
        n = 1 << (info - 24)
        v = int.from_bytes(self.take(n), "big")
        if v < (24 if n == 1 else 1 << (4 * n)):
            raise Malformed("argument not in shortest form")
        return v

    def item(self, depth=0):
        if depth > 16:
            raise Malformed("too deep")
        start = self.pos
        ib = self.byte()
        major, info = ib >> 5, ib & 31
        if major == 7:
            if info == 20: return False
            if info == 21: return True
            if info == 22: return None
            if info == 25:
                raw = self.take(2)
                v = struct.unpack(">e", raw)[0]
                if v != v and raw != b"\x7e\x00":
                    raise Malformed("non-canonical NaN")
                return v
            if info == 26:
                v = struct.unpack(">f", self.take(4))[0]
                if v != v or self.fits_half(v):
                    raise Malformed("float32 that float16 holds")
                return v
            if info == 27:
                v = struct.unpack(">d", self.take(8))[0]
                if v != v or self.fits_single(v):
                    raise Malformed("float64 that a shorter float holds")
                return v
            raise Malformed("unsupported simple value")
        arg = self.argument(info)
        if major == 0: return arg
        if major == 1: return -1 - arg
        if major == 2: return bytes(self.take(arg))
        if major == 3: return self.take(arg).decode("utf-8")
        if major == 4: return [self.item(depth + 1) for _ in range(arg)]
        if major == 5:
            out, last = {}, None
            for _ in range(arg):
                k0 = self.pos
                key = self.item(depth + 1)
                raw = self.data[k0:self.pos]
                if last is not None and raw <= last:
                    raise Malformed("map keys not sorted bytewise or duplicated")
                last = raw
                out[key] = self.item(depth + 1)
            return out
        return Tag(arg, self.item(depth + 1))

    @staticmethod
    def fits_half(v):
        try:
            return struct.unpack(">e", struct.pack(">e", v))[0] == v
        except (OverflowError, struct.error):
            return False

    @staticmethod
    def fits_single(v):
        try:
            return struct.unpack(">f", struct.pack(">f", v))[0] == v
        except (OverflowError, struct.error):
            return False

def cbor_decode(data):
    dec = Decoder(data)
    value = dec.item()
    if dec.pos != len(data):
        raise Malformed("trailing bytes")
    return value

def head(major, n):
    if n < 24: return bytes([major << 5 | n])
    if n < 256: return bytes([major << 5 | 24, n])
    if n < 65536: return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    if n < 2**32: return bytes([major << 5 | 26]) + n.to_bytes(4, "big")
    return bytes([major << 5 | 27]) + n.to_bytes(8, "big")

# ---------------------------------------------------------------- Prospector report

def device_id(raw_key):
    return "p" + base64.b32encode(hashlib.sha256(raw_key).digest()[:15]).decode("ascii").lower()

def cose_sign1(data):
    """Returns (protected bytes, kid, payload bytes, signature) of a tagged COSE_Sign1."""
    top = cbor_decode(data)
    if not isinstance(top, Tag) or top.tag != 18:
        raise Malformed("not CBOR tag 18")
    arr = top.value
    if not isinstance(arr, list) or len(arr) != 4:
        raise Malformed("COSE_Sign1 is not an array of 4")
    protected, unprotected, payload, signature = arr
    if not isinstance(protected, bytes) or unprotected != {} or not isinstance(payload, bytes) \
            or not isinstance(signature, bytes) or len(signature) != 64:
        raise Malformed("COSE_Sign1 fields have the wrong types")
    hdr = cbor_decode(protected)
    if not isinstance(hdr, dict) or set(hdr) != {1, 4} or hdr[1] != -8 or not isinstance(hdr[4], bytes):
        raise Malformed("protected header is not {1: -8, 4: kid}")
    return protected, hdr[4], payload, signature

def sig_structure(protected, payload):
    context = b"Signature1"
    return (head(4, 4) + head(3, len(context)) + context + head(2, len(protected)) + protected
            + head(2, 0) + head(2, len(payload)) + payload)

def check_report(data):
    protected, kid, payload, signature = cose_sign1(data)
    claims = cbor_decode(payload)
    if not isinstance(claims, dict) or claims.get("v") != 1:
        raise Malformed("payload is not a version 1 claims map")
    key = claims.get("key")
    if not isinstance(key, bytes) or len(key) != 32:
        raise Malformed("claim key is not 32 bytes")
    first_key, valid = key, True
    rotations = claims.get("rot", [])
    for i, statement in enumerate(rotations):
        r_prot, r_kid, r_payload, r_sig = cose_sign1(statement)
        r = cbor_decode(r_payload)
        if i == 0:
            first_key = r["old"]
        valid = valid and verify(r["old"], sig_structure(r_prot, r_payload), r_sig)
        if r["n"] != i + 1 or (i + 1 < len(rotations) and cbor_decode(cose_sign1(rotations[i + 1])[2])["old"] != r["new"]):
            raise Malformed("rotation chain broken")
        if i == len(rotations) - 1 and r["new"] != key:
            raise Malformed("last rotation does not name key")
    if claims.get("dev") != device_id(first_key):
        raise Malformed("dev is not the device id of the key")
    if kid != claims["dev"].encode("ascii"):
        raise Malformed("kid is not dev")
    valid = valid and verify(key, sig_structure(protected, payload), signature)
    return claims, valid

# ---------------------------------------------------------------- storage audits (section 4.1)

ZERO = bytes(32)
PLOT_ROUNDS = 8

def sha256(b):
    return hashlib.sha256(b).digest()

def u64(n):
    return n.to_bytes(8, "big")

def plot_id(dev, seed, n, leaf):
    return sha256(b"prospector plot v1" + dev.encode("ascii") + seed + u64(n) + u64(leaf))

def plot_parent(pid, i):
    return int.from_bytes(sha256(b"prospector plot parent v1" + pid + u64(i))[:8], "big") % i

def plot_label(pid, i, prev, parent, size):
    m = size // 32
    out = bytearray(size)
    for k in range(m):
        before = out[(k - 1) * 32:k * 32] if k > 0 else (prev[(m - 1) * 32:] if prev else ZERO)
        h = sha256(pid + u64(i) + k.to_bytes(2, "big")
                   + (prev[k * 32:(k + 1) * 32] if prev else ZERO)
                   + (parent[(m - 1 - k) * 32:(m - k) * 32] if parent else ZERO)
                   + bytes(before))
        for _ in range(PLOT_ROUNDS):
            h = sha256(h)
        out[k * 32:(k + 1) * 32] = h
    return bytes(out)

def audit_indices(nonce, root, n, k):
    return [int.from_bytes(sha256(b"prospector audit v1" + nonce + root + u64(j))[:8], "big") % n
            for j in range(k)]

def path_ok(root, n, index, leaf, path):
    if len(path) != n.bit_length() - 1:
        return False
    h = sha256(b"\x00" + leaf)
    for sibling in path:
        h = sha256(b"\x01" + h + sibling) if index % 2 == 0 else sha256(b"\x01" + sibling + h)
        index //= 2
    return h == root

def check_audit(claims, k):
    """None when the report answers no audit; else (passed, sentence)."""
    if "pos" not in claims:
        return None
    pos = cbor_decode(claims["pos"])
    if "plot" not in pos or "audit" not in pos or "nonce" not in claims:
        return None
    plot, audit = pos["plot"], pos["audit"]
    if "err" in audit:
        return (False, "the board could not answer: " + audit["err"])
    n, size, root = plot["n"], plot["leaf"], plot["root"]
    pid = plot_id(claims["dev"], plot["seed"], n, size)
    wanted = []
    indices = audit_indices(claims["nonce"], root, n, k)
    for i in indices:
        wanted += [i] if i == 0 else [i, i - 1, plot_parent(pid, i)]
    opened = audit["open"]
    if len(opened) != len(wanted):
        return (False, "%d openings where the audit needs %d" % (len(opened), len(wanted)))
    for index, (leaf, path) in zip(wanted, opened):
        if len(leaf) != size or not path_ok(root, n, index, leaf, path):
            return (False, "leaf %d is not in the committed tree" % index)
    at = 0
    for i in indices:
        leaf = opened[at][0]
        prev, parent = (opened[at + 1][0], opened[at + 2][0]) if i > 0 else (None, None)
        if plot_label(pid, i, prev, parent, size) != leaf:
            return (False, "leaf %d is not the plot's leaf" % i)
        at += 1 if i == 0 else 3
    return (True, "%d leaves" % k)

def printable(v):
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, list): return [printable(x) for x in v]
    if isinstance(v, dict): return {str(k): printable(x) for k, x in v.items()}
    return v

def self_test():
    # RFC 8032 section 7.1, TEST 1 and TEST 2.
    sk = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert secret_to_public(sk) == pk and sign(sk, b"") == sig and verify(pk, b"", sig)
    pk2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    sig2 = bytes.fromhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    assert verify(pk2, b"\x72", sig2) and not verify(pk2, b"\x73", sig2)
    print("self-test: ok")

def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        self_test()
        return 0
    audit_leaves = 8
    if len(argv) == 4 and argv[2] == "--audit-leaves" and argv[3].isdigit():
        audit_leaves = int(argv[3])
        argv = argv[:2]
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) == 2 else 2
    try:
        raw = open(argv[1], "rb").read()
    except OSError as e:
        print("cannot read %s: %s" % (argv[1], e.strerror), file=sys.stderr)
        return 2
    try:
        text = raw.decode("ascii").strip()
        data = bytes.fromhex("".join(text.split()))
    except (UnicodeDecodeError, ValueError):
        data = raw
    try:
        claims, valid = check_report(data)
    except (Malformed, KeyError, TypeError, UnicodeDecodeError) as e:
        print("malformed: %s" % e)
        return 1
    try:
        audit = check_audit(claims, audit_leaves)
    except (Malformed, KeyError, TypeError, ValueError) as e:
        print("malformed: pos: %s" % e)
        return 1
    print(json.dumps(printable(claims), indent=2, sort_keys=True))
    if audit is not None:
        print("storage audit: " + ("passed (" if audit[0] else "failed: ") + audit[1] + (")" if audit[0] else ""))
    print("signature: " + ("valid" if valid else "invalid"))
    return 0 if valid and (audit is None or audit[0]) else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv))
