"""Benchmark: offline verification of signed QR codes against the raw signature check.

The requirement (certificates issue): *offline verification throughput at least 0.8 of the
raw signature verification rate of the same algorithm measured in the same run.*

1. Makes one P-256 signing key and its certificate, a trust store holding it, and N
   distinct EU DCC codes (``HC1:``), each with its own name, birth date and certificate id.
2. **raw**: ``cryptography``'s ECDSA P-256 / SHA-256 verification of each code's
   Sig_structure bytes and signature (DER, converted beforehand) with the same public key:
   the floor that no verifier of the same algorithm gets below.
3. **verify**: ``signedqr.verify()`` of each code's text, everything included: prefix,
   Base45, zlib, CBOR, COSE_Sign1 and kid lookup, the signature, the CWT, the validity
   period against the certificate's, the key usage and a revocation callback (a set lookup
   of the certificate id, answering "not revoked").
4. **reference**: the same with ``signedqr.verify_reference()``, the Python reference that
   answers every code the compiled fast path (``_verify_fast.pyx``) hands back; for
   comparison only. ``verify`` takes the fast path when it is built (the report says so).
5. Raw, verify and reference take turns in rounds, every code once per round each way, in
   one process. The ratio is of wall time; the same ratio from the thread's CPU time is
   printed beside it, as on a shared machine other processes' turns on the CPU fall into
   either phase.

Run: ``.venv/bin/python bench/signedqr_verify.py`` (N = 2000, 10 rounds, about 8 seconds);
``--smoke`` is the quick check the test suite runs; ``--profile FILE`` writes a cProfile of
the verify phase. Prints PASS or BELOW TARGET; never asserts speed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography
from cryptography import x509
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from bench.applications_throughput import _machine
from yiwang.certificates import signedqr

TARGET_RATIO = 0.8
UTC = datetime.UTC
NOT_BEFORE = datetime.datetime(2026, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2028, 1, 1, tzinfo=UTC)
ISSUED_AT = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES_AT = datetime.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
CLOCK = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
VACCINATION_OID = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")


@dataclass
class Code:
    text: str
    to_be_signed: bytes  # the Sig_structure the signature covers
    der_signature: bytes
    certificate_id: str


def signing_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """A document signer certificate as a national backend issues one: for vaccinations."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Yiwang DSC bench"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.ExtendedKeyUsage([VACCINATION_OID]), critical=False)
        .sign(key, hashes.SHA256())
    )


def vaccination(index: int) -> dict[str, Any]:
    certificate_id = f"URN:UVCI:01:CN:YW{index:010d}#{index % 10}"
    return {
        "ver": "1.3.0",
        "nam": {"fn": "Zhang", "fnt": "ZHANG", "gn": f"Wei{index}", "gnt": f"WEI{index}"},
        "dob": (datetime.date(1950, 1, 1) + datetime.timedelta(days=index % 20_000)).isoformat(),
        "v": [
            {
                "tg": "840539006",
                "vp": "1119349007",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": "2026-02-20",
                "co": "CN",
                "is": "Yiwang",
                "ci": certificate_id,
            }
        ],
    }


def codes_make(count: int, key: ec.EllipticCurvePrivateKey, kid: bytes) -> list[Code]:
    codes = []
    for index in range(count):
        claims = vaccination(index)
        text = signedqr.sign(
            claims=claims,
            key=key,
            kid=kid,
            prefix=signedqr.EU_DCC_PREFIX,
            issuer="CN",
            issued_at=ISSUED_AT,
            expires_at=EXPIRES_AT,
        )
        # Peel the layers once, outside the measurement, for the raw check's inputs.
        sign1 = signedqr.cose_decode(
            signedqr.decompress(signedqr.base45_decode(signedqr.unprefix(text)))
        )
        r = int.from_bytes(sign1.signature[:32], "big")
        s = int.from_bytes(sign1.signature[32:], "big")
        codes.append(
            Code(text, sign1.to_be_signed(), encode_dss_signature(r, s), claims["v"][0]["ci"])
        )
    return codes


def raw_run(codes: Sequence[Code], public_key: ec.EllipticCurvePublicKey) -> tuple[float, float]:
    """Seconds (wall, and CPU of this thread) to check every code's signature with
    ``cryptography`` alone."""
    algorithm = ec.ECDSA(hashes.SHA256())
    started, cpu_started = time.perf_counter(), time.thread_time()
    for code in codes:
        public_key.verify(code.der_signature, code.to_be_signed, algorithm)
    return time.perf_counter() - started, time.thread_time() - cpu_started


def verify_run(
    codes: Sequence[Code],
    trust: signedqr.TrustStore,
    revoked_ids: frozenset[str],
    verify: Any = signedqr.verify,
) -> tuple[float, float, int]:
    """Seconds (wall, and CPU of this thread) to verify every code's text in full, and how
    many did not verify."""

    def revoked(kid: bytes, data: Mapping[str, Any]) -> bool:
        return any(entry.get("ci") in revoked_ids for entry in data.get("v", ()))

    failures = 0
    started, cpu_started = time.perf_counter(), time.thread_time()
    for code in codes:
        try:
            verify(code.text, trust=trust, clock=CLOCK, revoked=revoked)
        except signedqr.SignedQrError:
            failures += 1
    return time.perf_counter() - started, time.thread_time() - cpu_started, failures


def report(results: dict[str, Any]) -> str:
    f = results["figures"]
    verdict = "PASS" if f["ratio"] >= TARGET_RATIO else "BELOW TARGET"
    return "\n".join(
        [
            "",
            "Yiwang signed-QR verification benchmark",
            f"  date      {results['date']}",
            f"  machine   {results['machine']}",
            f"  crypto    {results['crypto']}",
            f"  codes     {results['codes']} distinct ES256 codes, {results['rounds']} rounds, "
            f"mean text {results['mean_text_chars']} characters",
            "",
            f"  {'phase':<10}{'checks':>9}{'seconds':>10}{'per s':>11}{'µs each':>10}",
            f"  {'raw':<10}{f['checks']:>9}{f['raw_s']:>10.3f}{f['raw_per_s']:>11,.0f}"
            f"{f['raw_us']:>10.1f}",
            f"  {'verify':<10}{f['checks']:>9}{f['verify_s']:>10.3f}{f['verify_per_s']:>11,.0f}"
            f"{f['verify_us']:>10.1f}",
            f"  {'reference':<10}{f['checks']:>9}{f['reference_s']:>10.3f}"
            f"{f['reference_per_s']:>11,.0f}{f['reference_us']:>10.1f}",
            "",
            f"  verify ran {results['verifier']}",
            f"  per round, ratio: {', '.join(f'{ratio:.2f}' for ratio in f['round_ratios'])}",
            f"  overhead beyond the signature: {f['overhead_us']:.1f} µs per code",
            f"  ratio = verify/s ÷ raw verify/s = {f['ratio']:.2f}   "
            f"(target ≥ {TARGET_RATIO}: {verdict})",
            f"  the same from this thread's CPU time (no other process's share): "
            f"{f['cpu_ratio']:.2f}",
            f"  (the Python reference alone: ratio {f['reference_ratio']:.2f})",
            f"  failures: {f['failures']}; a revoked code refused: {f['revocation_checked']}",
        ]
    )


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", "-n", type=int, default=2000, help="distinct signed codes")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="n=50, 2 rounds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the verify phase")
    args = parser.parse_args(argv)
    if args.smoke:
        args.codes, args.rounds = 50, 2
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = signing_certificate(key)
    trust = signedqr.TrustStore.from_certificates([certificate])
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    print(f"signing {args.codes} codes …", flush=True)
    codes = codes_make(args.codes, key, signedqr.key_id(certificate))
    # Revocation lists hold other certificates' ids; the lookup is what is measured.
    revoked_ids = frozenset(f"URN:UVCI:01:CN:REVOKED{index:08d}" for index in range(1000))

    raw_run(codes[:100], public_key)  # warm-up
    verify_run(codes[:100], trust, revoked_ids)
    verify_run(codes[:100], trust, revoked_ids, signedqr.verify_reference)
    # The callback is asked: with its own id on the list, a code is refused, both ways.
    revocation_checked = all(
        verify_run(codes[:1], trust, revoked_ids | {codes[0].certificate_id}, verify)[2] == 1
        for verify in (signedqr.verify, signedqr.verify_reference)
    )
    raw_s = verify_s = raw_cpu_s = verify_cpu_s = reference_s = 0.0
    failures = 0
    round_ratios = []
    gc.collect()
    profiler = cProfile.Profile() if args.profile else None
    for _ in range(max(1, args.rounds)):
        raw, raw_cpu = raw_run(codes, public_key)
        if profiler:
            profiler.enable()
        full, full_cpu, failed = verify_run(codes, trust, revoked_ids)
        if profiler:
            profiler.disable()
        reference, _, failed_reference = verify_run(
            codes, trust, revoked_ids, signedqr.verify_reference
        )
        failures += failed_reference
        reference_s += reference
        raw_s += raw
        verify_s += full
        raw_cpu_s += raw_cpu
        verify_cpu_s += full_cpu
        failures += failed
        round_ratios.append(raw / full)
    if profiler:
        profiler.dump_stats(args.profile)

    checks = len(codes) * max(1, args.rounds)
    results = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "crypto": f"cryptography {cryptography.__version__}, {backend.openssl_version_text()}",
        "python": platform.python_version(),
        "codes": len(codes),
        "rounds": max(1, args.rounds),
        "mean_text_chars": round(sum(len(code.text) for code in codes) / len(codes)),
        "verifier": (
            "the compiled fast path (yiwang/certificates/_verify_fast.pyx)"
            if signedqr._fast is not None
            else "the Python reference only: the fast path is not built"
        ),
        "figures": {
            "checks": checks,
            "raw_s": round(raw_s, 4),
            "verify_s": round(verify_s, 4),
            "raw_per_s": round(checks / raw_s, 1),
            "verify_per_s": round(checks / verify_s, 1),
            "raw_us": round(raw_s / checks * 1e6, 2),
            "verify_us": round(verify_s / checks * 1e6, 2),
            "overhead_us": round((verify_s - raw_s) / checks * 1e6, 2),
            "reference_s": round(reference_s, 4),
            "reference_per_s": round(checks / reference_s, 1),
            "reference_us": round(reference_s / checks * 1e6, 2),
            "reference_ratio": round(raw_s / reference_s, 3),
            "ratio": round(raw_s / verify_s, 3),
            "raw_cpu_s": round(raw_cpu_s, 4),
            "verify_cpu_s": round(verify_cpu_s, 4),
            "cpu_ratio": round(raw_cpu_s / verify_cpu_s, 3),
            "round_ratios": [round(ratio, 3) for ratio in round_ratios],
            "failures": failures,
            "revocation_checked": revocation_checked,
        },
    }
    print(report(results), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0 if failures == 0 and revocation_checked else 1


if __name__ == "__main__":
    sys.exit(main())
