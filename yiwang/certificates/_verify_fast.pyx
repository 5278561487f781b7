# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled fast path of ``signedqr.verify``: the same steps for codes of the usual shape.

``signedqr.verify_reference`` is the reference. This module reads a code of the shape
every issuer writes (Base45, zlib with the inflated data under 16 KiB, COSE_Sign1 with
definite-length byte strings, ES256, CBOR of integers, byte and text strings, arrays,
maps, true, false and null) and makes the same checks in the same order. Whatever is
unusual or wrong (a bad character, a float, a tag inside the payload, a duplicate key, an
unknown key, an expired code …) makes ``verify`` return None, and the reference then
checks the code again from the start and gives the verdict. Only two verdicts are given
here, because they come after every other check has passed exactly as in the reference:
a signature that does not verify, and a code the revocation callback names (asked once,
last). So the fast path answers "valid" only where the reference would, and refuses only
as the reference would: ``test_signedqr_fast.py`` checks that on the conformance cases,
on codes of every shape and on arbitrary bytes.

Every read of the input goes through ``_need``, which checks the length left first.
``_Defer`` is raised as a new instance each time: one instance raised again and again
would carry an ever longer traceback.
"""

from cpython.datetime cimport import_datetime, timedelta_new
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy, memset


cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL


cdef extern from "zlib.h":
    ctypedef struct z_stream:
        const uint8_t* next_in
        unsigned int avail_in
        uint8_t* next_out
        unsigned int avail_out
    int inflateInit(z_stream*)
    int inflateReset(z_stream*)
    int inflate(z_stream*, int)
    int Z_OK
    int Z_STREAM_END
    int Z_FINISH

import_datetime()


# The source this build was made from (``signedqr`` ignores a build older than its source).
SOURCE_DIGEST = "@SOURCE_DIGEST@"

cdef enum:
    MAX_TEXT = 8192  # signedqr.MAX_TEXT_LENGTH
    MAX_BASE45 = 5462  # the bytes MAX_TEXT characters decode to, at most
    MAX_INFLATED = 16384  # larger contents go to the reference
    MAX_DEPTH = 16  # deeper CBOR goes to the reference

# Each Base45 character's value (RFC 9285), and 0xFF for every byte that is not one.
cdef uint8_t[256] _B45
cdef Py_ssize_t _i
for _i in range(256):
    _B45[_i] = 0xFF
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
for _i in range(45):
    _B45[ord(_ALPHABET[_i])] = <uint8_t>_i


class _Defer(Exception):
    """Not for the fast path: the reference decides."""


# One inflater, reset for each code rather than set up: the GIL is held from its reset
# to its last use, with no Python code in between, so no two checks share it.
cdef z_stream _inflater
memset(&_inflater, 0, sizeof(_inflater))
if inflateInit(&_inflater) != Z_OK:
    raise MemoryError("zlib could not be set up")

# Set by ``setup`` from signedqr, which imports this module (not the other way round).
cdef object _Verified = None
cdef object _TrustEntry = None
cdef object _ecdsa = None
cdef object _dcc_type = None
cdef object _epoch = None
cdef object _invalid_signature = None
cdef object _signature_error = None
cdef object _revoked_error = None


def setup(
    verified, trust_entry, ecdsa, dcc_type, epoch, invalid_signature, signature_error,
    revoked_error,
):
    """``Verified``, ``TrustEntry``, the ECDSA-SHA256 object, ``dcc_type``, 1970-01-01 in
    UTC, the exception a bad signature raises, and the makers of the two verdicts given
    here."""
    global _Verified, _TrustEntry, _ecdsa, _dcc_type, _epoch
    global _invalid_signature, _signature_error, _revoked_error
    _Verified = verified
    _TrustEntry = trust_entry
    _ecdsa = ecdsa
    _dcc_type = dcc_type
    _epoch = epoch
    _invalid_signature = invalid_signature
    _signature_error = signature_error
    _revoked_error = revoked_error


cdef object _datetime(object value):
    """``datetime.fromtimestamp(value, tz=UTC)`` from 1970 through 9999 (else defer)."""
    cdef long long seconds
    if type(value) is not int or not (0 <= value < 253402300800):  # 10000-01-01
        raise _Defer()
    seconds = value
    return _epoch + timedelta_new(<int>(seconds // 86400), <int>(seconds % 86400), 0)


# --- CBOR, the subset ---------------------------------------------------------------------

cdef inline int _need(Py_ssize_t pos, uint64_t count, Py_ssize_t end) except -1:
    if count > <uint64_t>(end - pos):
        raise _Defer()
    return 0


cdef int _head(const uint8_t* d, Py_ssize_t* pos, Py_ssize_t end, uint64_t* arg) except -1:
    """The major type at ``pos`` and its argument; moves past the head."""
    cdef Py_ssize_t at = pos[0]
    cdef int major, info, size, k
    cdef uint64_t value
    _need(at, 1, end)
    major = d[at] >> 5
    info = d[at] & 0x1F
    at += 1
    if info < 24:
        value = info
    elif info <= 27:
        size = 1 << (info - 24)
        _need(at, size, end)
        value = 0
        for k in range(size):
            value = (value << 8) | d[at + k]
        at += size
    else:
        raise _Defer()  # indefinite lengths, reserved values
    pos[0] = at
    arg[0] = value
    return major


cdef object _item(const uint8_t* d, Py_ssize_t* pos, Py_ssize_t end, int depth):
    cdef uint64_t arg, count
    cdef int major
    cdef Py_ssize_t start
    cdef dict mapping
    cdef list array
    if depth > MAX_DEPTH:
        raise _Defer()
    start = pos[0]
    major = _head(d, pos, end, &arg)
    if major == 0:
        return arg
    if major == 1:
        if arg < 0x8000000000000000:
            return -1 - <long long>arg
        return -1 - <object>arg
    if major == 2 or major == 3:
        _need(pos[0], arg, end)
        start = pos[0]
        pos[0] = start + <Py_ssize_t>arg
        if major == 2:
            return PyBytes_FromStringAndSize(<const char*>d + start, <Py_ssize_t>arg)
        try:
            return PyUnicode_DecodeUTF8(<const char*>d + start, <Py_ssize_t>arg, NULL)
        except UnicodeDecodeError:
            raise _Defer()
    if major == 4:
        _need(pos[0], arg, end)  # every item takes a byte at least
        array = []
        for count in range(arg):
            array.append(_item(d, pos, end, depth + 1))
        return array
    if major == 5:
        if arg > <uint64_t>(end - pos[0]) // 2:  # every entry takes two bytes at least
            raise _Defer()
        mapping = {}
        for count in range(arg):
            key = _item(d, pos, end, depth + 1)
            if type(key) is not int and type(key) is not str and type(key) is not bytes:
                raise _Defer()
            if key in mapping:
                raise _Defer()  # a duplicate key: the reference refuses it
            mapping[key] = _item(d, pos, end, depth + 1)
        return mapping
    if major == 7 and start + 1 == pos[0]:
        if arg == 20:
            return False
        if arg == 21:
            return True
        if arg == 22:
            return None
    raise _Defer()  # tags, floats, undefined, simple values


cdef object _one(const uint8_t* d, Py_ssize_t start, Py_ssize_t end):
    """Exactly one item from ``start`` to ``end``."""
    cdef Py_ssize_t pos = start
    value = _item(d, &pos, end, 0)
    if pos != end:
        raise _Defer()
    return value


cdef int _byte_string(const uint8_t* d, Py_ssize_t* pos, Py_ssize_t end, Py_ssize_t* start) except -1:
    """A definite-length byte string with a head of at most 4 length bytes; its length."""
    cdef uint64_t arg
    _need(pos[0], 1, end)
    if not (0x40 <= d[pos[0]] <= 0x5A):
        raise _Defer()
    _head(d, pos, end, &arg)
    _need(pos[0], arg, end)
    start[0] = pos[0]
    pos[0] += <Py_ssize_t>arg
    return <int>arg


cdef inline Py_ssize_t _bstr_head_size(Py_ssize_t length):
    return 1 if length < 24 else 2 if length <= 0xFF else 3 if length <= 0xFFFF else 5


cdef Py_ssize_t _bstr_head(uint8_t* out, Py_ssize_t length):
    """The shortest head of a byte string of ``length`` (< 2**32) bytes."""
    if length < 24:
        out[0] = 0x40 | length
        return 1
    if length <= 0xFF:
        out[0] = 0x58
        out[1] = length
        return 2
    if length <= 0xFFFF:
        out[0] = 0x59
        out[1] = length >> 8
        out[2] = length & 0xFF
        return 3
    out[0] = 0x5A
    out[1] = (length >> 24) & 0xFF
    out[2] = (length >> 16) & 0xFF
    out[3] = (length >> 8) & 0xFF
    out[4] = length & 0xFF
    return 5


cdef Py_ssize_t _der_integer(uint8_t* out, const uint8_t* value):
    """A 32-byte big-endian integer as a DER INTEGER, as ``signedqr._der_integer`` writes it."""
    cdef int skip = 0
    cdef int length, at = 0
    while skip < 32 and value[skip] == 0:
        skip += 1
    length = 32 - skip
    out[0] = 0x02
    if length == 0 or value[skip] & 0x80:
        out[1] = length + 1
        out[2] = 0
        at = 3
    else:
        out[1] = length
        at = 2
    memcpy(out + at, value + skip, length)
    return at + length


# --- verify -------------------------------------------------------------------------------

def verify(text, trust, clock, prefixes, certificate_type, revoked):
    """The ``Verified`` result, or None: the reference must check this code."""
    try:
        return _verify(text, trust, clock, prefixes, certificate_type, revoked)
    except _Defer:
        return None


cdef object _verify(text, trust, clock, tuple prefixes, certificate_type, revoked):
    cdef Py_ssize_t length, at, end, groups, rest, k, n, size
    cdef const char* chars
    cdef uint8_t[MAX_BASE45] raw
    cdef uint8_t[MAX_INFLATED] cose
    cdef uint8_t[80] der
    cdef unsigned int c, v
    cdef int status
    cdef Py_ssize_t p_start, p_len, pay_start, pay_len, sig_start, sig_len, pos
    cdef bytes message
    cdef uint8_t* m

    # The prefix, then Base45.
    if type(text) is not str or not PyUnicode_IS_ASCII(text):
        raise _Defer()
    chars = PyUnicode_AsUTF8AndSize(text, &length)
    if length == 0 or length > MAX_TEXT:
        raise _Defer()
    at = -1
    for prefix in prefixes:
        if type(prefix) is str and text.startswith(prefix):
            at = len(<str>prefix)
            break
    if at < 0:
        raise _Defer()
    end = length
    while end > at and chars[end - 1] == b'\n':
        end -= 1
    groups = (end - at) // 3
    rest = (end - at) % 3
    if groups == 0 or rest == 1:
        raise _Defer()
    n = 0
    for k in range(groups):
        v = _B45[<uint8_t>chars[at]]
        c = _B45[<uint8_t>chars[at + 1]]
        if v == 0xFF or c == 0xFF:
            raise _Defer()
        v += 45 * c
        c = _B45[<uint8_t>chars[at + 2]]
        if c == 0xFF:
            raise _Defer()
        v += 2025 * c
        if v > 0xFFFF:
            raise _Defer()
        raw[n] = v >> 8
        raw[n + 1] = v & 0xFF
        n += 2
        at += 3
    if rest:
        v = _B45[<uint8_t>chars[at]]
        c = _B45[<uint8_t>chars[at + 1]]
        if v == 0xFF or c == 0xFF:
            raise _Defer()
        v += 45 * c
        if v > 0xFF:
            raise _Defer()
        raw[n] = v
        n += 1

    # zlib: the whole stream, nothing after it, inflating to less than the buffer.
    if inflateReset(&_inflater) != Z_OK:
        raise _Defer()
    _inflater.next_in = raw
    _inflater.avail_in = <unsigned int>n
    _inflater.next_out = cose
    _inflater.avail_out = MAX_INFLATED
    status = inflate(&_inflater, Z_FINISH)
    size = MAX_INFLATED - _inflater.avail_out
    if status != Z_STREAM_END or _inflater.avail_in != 0 or size == MAX_INFLATED:
        raise _Defer()

    # COSE_Sign1: tag 61 or not, tag 18 or not, an array of four.
    pos = 0
    if size >= 2 and cose[0] == 0xD8 and cose[1] == 0x3D:
        pos = 2
    if pos < size and cose[pos] == 0xD2:
        pos += 1
    if pos >= size or cose[pos] != 0x84:
        raise _Defer()
    pos += 1
    p_len = _byte_string(cose, &pos, size, &p_start)
    protected = _one(cose, p_start, p_start + p_len) if p_len else {}
    if type(protected) is not dict:
        raise _Defer()
    _need(pos, 1, size)
    if cose[pos] == 0xA0:
        unprotected = {}
        pos += 1
    else:
        unprotected = _item(cose, &pos, size, 0)
        if type(unprotected) is not dict:
            raise _Defer()
    pay_len = _byte_string(cose, &pos, size, &pay_start)
    sig_len = _byte_string(cose, &pos, size, &sig_start)
    if pos != size:
        raise _Defer()

    # The kid, the signer, ES256.
    kid = (<dict>protected)[4] if 4 in <dict>protected else (<dict>unprotected).get(4)
    if type(kid) is not bytes:
        raise _Defer()
    signer = trust.get(kid)
    if type(signer) is not _TrustEntry:  # None, or a stand-in the reference may know
        raise _Defer()
    alg = (<dict>protected)[1] if 1 in <dict>protected else (<dict>unprotected).get(1)
    if type(alg) is not int or alg != -7:
        raise _Defer()
    if sig_len != 64 or not signer.es256_key:
        raise _Defer()
    key = signer.public_key

    # The Sig_structure and the DER signature, then the signature.
    message = PyBytes_FromStringAndSize(
        NULL, 12 + _bstr_head_size(p_len) + p_len + 1 + _bstr_head_size(pay_len) + pay_len
    )
    m = <uint8_t*>PyBytes_AS_STRING(message)
    memcpy(m, b"\x84\x6aSignature1", 12)
    k = 12
    k += _bstr_head(m + k, p_len)
    memcpy(m + k, cose + p_start, p_len)
    k += p_len
    m[k] = 0x40
    k += 1
    k += _bstr_head(m + k, pay_len)
    memcpy(m + k, cose + pay_start, pay_len)
    k += pay_len
    n = _der_integer(der + 2, cose + sig_start)
    n += _der_integer(der + 2 + n, cose + sig_start + 32)
    der[0] = 0x30
    der[1] = <uint8_t>n
    try:
        key.verify(PyBytes_FromStringAndSize(<const char*>der, n + 2), message, _ecdsa)
    except (_invalid_signature, ValueError):
        # Everything before it was read as the reference reads it, so the reference
        # would get here with the same bytes: the verdict is its verdict.
        raise _signature_error()

    # The CWT.
    claims = _one(cose, pay_start, pay_start + pay_len)
    if type(claims) is not dict:
        raise _Defer()
    hcert = (<dict>claims).get(-260)
    if type(hcert) is not dict:
        raise _Defer()
    data = (<dict>hcert).get(1)
    if type(data) is not dict:
        raise _Defer()
    issuer = (<dict>claims).get(1)
    if type(issuer) is not str:
        issuer = None
    issued_at = _datetime((<dict>claims).get(6))
    expires_at = _datetime((<dict>claims).get(4))

    # Validity: notBefore <= iat <= clock <= exp <= notAfter.
    if clock.tzinfo is None or clock < issued_at or clock > expires_at:
        raise _Defer()
    bound = signer.not_before
    if bound is not None and issued_at < bound:
        raise _Defer()
    bound = signer.not_after
    if bound is not None and expires_at > bound:
        raise _Defer()

    # The type and the key's usage, then revocation.
    if callable(certificate_type):
        kind = certificate_type(data)
    elif certificate_type is not None:
        kind = certificate_type
    else:
        kind = _dcc_type(data)
    allowed = signer.allowed_types
    if allowed and kind not in allowed:
        raise _Defer()
    if revoked is not None and revoked(kid, data):
        raise _revoked_error()  # asked once, as the reference asks it: last
    # A frozen dataclass refuses attribute writes; its fields are filled as its own
    # __init__ would, without the call through object.__setattr__ per field.
    verified = _Verified.__new__(_Verified)
    fields = verified.__dict__
    fields["payload"] = data
    fields["issuer"] = issuer
    fields["issued_at"] = issued_at
    fields["expires_at"] = expires_at
    fields["kid"] = kid
    fields["signer"] = signer
    fields["algorithm"] = "ES256"
    fields["certificate_type"] = kind
    return verified
