"""Benchmark: offline health-code verification against the raw signature check.

The requirement (health-code issue): *offline health-code verification per second at least
0.8 of the raw ECDSA P-256 signature verification rate of the same codes, measured in the
same run.* The approach and the raw phase are those of ``bench/signedqr_verify.py``.

1. Makes one P-256 signing key and its certificate, trusted for "health-code" only (as the
   platform's trust list says of the health department's key), and N distinct health codes
   (``YWH1:``), each with its own masked name and ID number, colours in turn green, yellow,
   red, five minutes of validity.
2. **raw**: ``cryptography``'s ECDSA P-256 / SHA-256 verification of each code's
   Sig_structure and signature (``signedqr_verify.raw_run``): the floor of any verifier.
3. **container**: ``signedqr.verify()`` of each code's text as a health code: everything of
   the signed-QR container (prefix, Base45, zlib, CBOR, COSE_Sign1, kid lookup, signature,
   CWT, validity, key usage), without the health-code claims. For reference.
4. **verify**: ``codes.health_code_verify()`` of each code's text with an offline verifier
   (a trust store only, as ``verifier_from_lists`` builds from the cached trust list): the
   container, then the claims (type, colour, name, region, evaluation time) and the action.
5. The three take turns in rounds, every code once per round each way, in one process.
   The ratio is of wall time; the same ratio from the thread's CPU time is printed too.

Before the rounds, a tampered code must give ``bad_signature``, a code checked after its
expiry ``expired``, and a code signed with a key for certificates only ``key_not_allowed``.

Run: ``.venv/bin/python bench/health_code_verify.py`` (N = 2000, 10 rounds, about 10 s);
``--smoke`` is the quick check the test suite runs; ``--profile FILE`` writes a cProfile of
the verify phase. Prints PASS or BELOW TARGET; never asserts speed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bench.applications_throughput import _machine, _name, _resident_id
from bench.signedqr_verify import Code, raw_run, signing_certificate

TARGET_RATIO = 0.8
UTC = datetime.UTC
# Within the bench certificate's validity (signedqr_verify: 2026 to 2028).
CLOCK = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ISSUED_AT = CLOCK - datetime.timedelta(seconds=60)
EXPIRES_AT = ISSUED_AT + datetime.timedelta(seconds=300)
COLOURS = ("green", "yellow", "red")
PREFIX = "YWH1:"
ISSUER = "杭州市卫生健康委员会"


def django_setup(data_dir: Path) -> None:
    """The health module is Django code: settings as the platform's, files in a temp dir."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["YIWANG_DATA_DIR"] = str(data_dir)
    os.environ["YIWANG_HTTPS"] = "0"
    os.environ.pop("HEALTH_CODE_PEER_PREFIXES", None)
    os.environ["HEALTH_CODE_PREFIX"] = PREFIX
    import django

    django.setup()


def health_codes_make(
    count: int, key: ec.EllipticCurvePrivateKey, kid: bytes
) -> tuple[list[Code], list[str]]:
    """N distinct signed health codes, peeled once for the raw check; and their colours."""
    from yiwang.certificates import signedqr
    from yiwang.health import codes

    made, colours = [], []
    for index in range(count):
        colour = COLOURS[index % len(COLOURS)]
        text = codes.health_code_text(
            colour=colour,
            name=_name(index),
            id_number=_resident_id(index),
            region_code="330100",
            evaluated_at=ISSUED_AT - datetime.timedelta(hours=index % 24),
            key=key,
            kid=kid,
            issued_at=ISSUED_AT,
            expires_at=EXPIRES_AT,
            prefix=PREFIX,
        )
        sign1 = signedqr.cose_decode(
            signedqr.decompress(signedqr.base45_decode(signedqr.unprefix(text, PREFIX)))
        )
        r = int.from_bytes(sign1.signature[:32], "big")
        s = int.from_bytes(sign1.signature[32:], "big")
        made.append(Code(text, sign1.to_be_signed(), encode_dss_signature(r, s), ""))
        colours.append(colour)
    return made, colours


def _fast_built() -> bool:
    from yiwang.certificates import signedqr

    return signedqr._fast is not None


def container_run(codes_: Sequence[Code], trust: Any) -> tuple[float, float, int]:
    """Seconds (wall, CPU) for ``signedqr.verify`` of every text as a health code."""
    from yiwang.certificates import signedqr
    from yiwang.health.codes import CODE_TYPE

    failures = 0
    started, cpu_started = time.perf_counter(), time.thread_time()
    for code in codes_:
        try:
            signedqr.verify(
                code.text, trust=trust, clock=CLOCK, prefix=(PREFIX,), certificate_type=CODE_TYPE
            )
        except signedqr.SignedQrError:
            failures += 1
    return time.perf_counter() - started, time.thread_time() - cpu_started, failures


def verify_run(
    codes_: Sequence[Code], colours: Sequence[str], verifier: Any, actions: Counter[str]
) -> tuple[float, float, int]:
    """Seconds (wall, CPU) for ``health_code_verify`` of every text, and how many did not
    verify or gave another colour than they were signed with."""
    from yiwang.health.codes import health_code_verify

    failures = 0
    started, cpu_started = time.perf_counter(), time.thread_time()
    for code, colour in zip(codes_, colours, strict=True):
        check = health_code_verify(code.text, verifier=verifier, clock=CLOCK)
        if check.verdict is not None or check.colour != colour:
            failures += 1
        else:
            actions[str(check.action)] += 1
    return time.perf_counter() - started, time.thread_time() - cpu_started, failures


def refusals_check(sample: Code, verifier: Any, certificate: Any) -> dict[str, str | None]:
    """What a tampered code, a late check and a certificate key's code give."""
    from yiwang.certificates import signedqr
    from yiwang.certificates.verification import Verifier
    from yiwang.health import codes

    body = signedqr.decompress(signedqr.base45_decode(sample.text.removeprefix(PREFIX)))
    tampered = signedqr.qr_text_encode(body[:-1] + bytes([body[-1] ^ 1]), prefix=PREFIX)
    late = CLOCK + datetime.timedelta(minutes=10)
    # The same key, as a trust list would list a key for marriage certificates only.
    store = signedqr.TrustStore()
    store.add_certificate(certificate, allowed_types=["CT-JHZ"], label="杭州市西湖区民政局")
    certificate_key = Verifier(trust=store, prefix=PREFIX)

    def verdict(text: str, with_: Any, clock: datetime.datetime) -> str | None:
        result = codes.health_code_verify(text, verifier=with_, clock=clock)
        return str(result.verdict) if result.verdict else None

    return {
        "tampered": verdict(tampered, verifier, CLOCK),
        "late": verdict(sample.text, verifier, late),
        "certificate_key": verdict(sample.text, certificate_key, CLOCK),
    }


def report(results: dict[str, Any]) -> str:
    f = results["figures"]
    verdict = "PASS" if f["ratio"] >= TARGET_RATIO else "BELOW TARGET"
    rows = [
        ("raw", f["raw_s"], f["raw_per_s"], f["raw_us"]),
        ("container", f["container_s"], f["container_per_s"], f["container_us"]),
        ("verify", f["verify_s"], f["verify_per_s"], f["verify_us"]),
    ]
    return "\n".join(
        [
            "",
            "Yiwang health-code verification benchmark (offline)",
            f"  date      {results['date']}",
            f"  machine   {results['machine']}",
            f"  crypto    {results['crypto']}",
            f"  codes     {results['codes']} distinct ES256 health codes, {results['rounds']} "
            f"rounds, mean text {results['mean_text_chars']} characters",
            "",
            f"  {'phase':<10}{'checks':>9}{'seconds':>10}{'per s':>11}{'µs each':>10}",
            *[
                f"  {name:<10}{f['checks']:>9}{seconds:>10.3f}{per_s:>11,.0f}{us:>10.1f}"
                for name, seconds, per_s, us in rows
            ],
            "",
            f"  the container ran {results['verifier']}",
            f"  per round, ratio: {', '.join(f'{ratio:.2f}' for ratio in f['round_ratios'])}",
            f"  overhead beyond the signature: {f['overhead_us']:.1f} µs per code "
            f"(of which the health-code claims: {f['claims_us']:.1f} µs)",
            f"  ratio = verify/s ÷ raw verify/s = {f['ratio']:.2f}   "
            f"(target ≥ {TARGET_RATIO}: {verdict})",
            f"  the same from this thread's CPU time (no other process's share): "
            f"{f['cpu_ratio']:.2f}",
            f"  actions: {', '.join(f'{k} {v}' for k, v in sorted(f['actions'].items()))}; "
            f"failures: {f['failures']}",
            f"  refused as they must be: {f['refusals']}",
        ]
    )


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", "-n", type=int, default=2000, help="distinct signed codes")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="n=60, 2 rounds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the verify phase")
    args = parser.parse_args(argv)
    if args.smoke:
        args.codes, args.rounds = 60, 2
    args.rounds = max(1, args.rounds)
    args.codes = max(3, args.codes)
    return args


EXPECTED_REFUSALS = {
    "tampered": "bad_signature",
    "late": "expired",
    "certificate_key": "key_not_allowed",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="yiwang-bench-health-") as data_dir:
        django_setup(Path(data_dir))
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from yiwang.certificates import signedqr
    from yiwang.certificates.verification import Verifier
    from yiwang.health.codes import CODE_TYPE

    key = ec.generate_private_key(ec.SECP256R1())
    certificate = signing_certificate(key)
    trust = signedqr.TrustStore()
    trust.add_certificate(certificate, allowed_types=[CODE_TYPE], label=ISSUER)
    verifier = Verifier(trust=trust, prefix=PREFIX)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    print(f"signing {args.codes} health codes …", flush=True)
    codes_, colours = health_codes_make(args.codes, key, signedqr.key_id(certificate))

    warm = codes_[:100]
    raw_run(warm, public_key)
    container_run(warm, trust)
    verify_run(warm, colours[:100], verifier, Counter())
    refusals = refusals_check(codes_[0], verifier, certificate)
    raw_s = container_s = verify_s = raw_cpu_s = verify_cpu_s = 0.0
    failures = 0
    actions: Counter[str] = Counter()
    round_ratios = []
    gc.collect()
    profiler = cProfile.Profile() if args.profile else None
    for _ in range(args.rounds):
        raw, raw_cpu = raw_run(codes_, public_key)
        container, _, container_failed = container_run(codes_, trust)
        if profiler:
            profiler.enable()
        full, full_cpu, failed = verify_run(codes_, colours, verifier, actions)
        if profiler:
            profiler.disable()
        raw_s += raw
        container_s += container
        verify_s += full
        raw_cpu_s += raw_cpu
        verify_cpu_s += full_cpu
        failures += failed + container_failed
        round_ratios.append(raw / full)
    if profiler:
        profiler.dump_stats(args.profile)

    checks = len(codes_) * args.rounds
    results = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "crypto": f"cryptography {cryptography.__version__}, {backend.openssl_version_text()}",
        "python": platform.python_version(),
        "codes": len(codes_),
        "rounds": args.rounds,
        "mean_text_chars": round(sum(len(code.text) for code in codes_) / len(codes_)),
        "colours": dict(Counter(colours)),
        "verifier": (
            "the compiled fast path (yiwang/certificates/_verify_fast.pyx)"
            if _fast_built()
            else "the Python reference only: the fast path is not built"
        ),
        "figures": {
            "checks": checks,
            "raw_s": round(raw_s, 4),
            "container_s": round(container_s, 4),
            "verify_s": round(verify_s, 4),
            "raw_per_s": round(checks / raw_s, 1),
            "container_per_s": round(checks / container_s, 1),
            "verify_per_s": round(checks / verify_s, 1),
            "raw_us": round(raw_s / checks * 1e6, 2),
            "container_us": round(container_s / checks * 1e6, 2),
            "verify_us": round(verify_s / checks * 1e6, 2),
            "overhead_us": round((verify_s - raw_s) / checks * 1e6, 2),
            "claims_us": round((verify_s - container_s) / checks * 1e6, 2),
            "ratio": round(raw_s / verify_s, 3),
            "cpu_ratio": round(raw_cpu_s / verify_cpu_s, 3),
            "round_ratios": [round(ratio, 3) for ratio in round_ratios],
            "actions": dict(actions),
            "failures": failures,
            "refusals": refusals,
        },
    }
    print(report(results), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0 if failures == 0 and refusals == EXPECTED_REFUSALS else 1


if __name__ == "__main__":
    sys.exit(main())
