"""T7, coverage-guided: atheris on the sans-IO parsers. Not part of pytest (the
default suite must not need atheris); run one target at a time:

    PYTHONPATH=<dir with atheris> .venv/bin/python tests/reliability/fuzz_atheris.py TARGET \\
        [-max_total_time=60] [-runs=N] [corpus dirs...]

TARGET: startup, message, vector_text, vector_binary, scram. The seed corpus is
``tests/reliability/fuzz_corpus/TARGET/`` (passed automatically when no corpus
directory is given; new inputs atheris finds are written to a scratch
directory, not into the repository). Each target accepts the typed result or
the exceptions its callers turn into an ErrorResponse (the SQLSTATEs below);
anything else is a crash atheris reports with its input. Prints
``fuzz.atheris.TARGET: execs=… crashes=0`` at the end.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from vecgres.config import Settings
    from vecgres.errors import VecgresError
    from vecgres.server import protocol as pq
    from vecgres.server.auth import scram
    from vecgres.vector import binary, text

SETTINGS = Settings()
CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
# the SQLSTATEs each target may answer with
ALLOWED: dict[str, frozenset[str]] = {
    "startup": frozenset({"08P01"}),
    "message": frozenset({"08P01", "22021"}),
    "vector_text": frozenset({"22P02", "22003", "22000", "54000"}),
    "vector_binary": frozenset({"22P03", "22000", "54000"}),
    "scram": frozenset({"08P01", "28P01", "28000", "22021"}),
}


def _startup(data: bytes) -> None:
    pq.read_startup(data, SETTINGS)


def _message(data: bytes) -> None:
    buf = bytes(data)
    # a stream of frames: parse until the buffer runs out or asks for more bytes
    for _ in range(64):
        got = pq.read_message(buf, SETTINGS)
        if got is None:
            return
        buf = buf[got[1] :]


def _vector_text(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    typmod = fdp.PickValueInList([-1, 1, 3, 16000])
    text.parse_vector(fdp.ConsumeUnicodeNoSurrogates(len(data)), typmod)


def _vector_binary(data: bytes) -> None:
    typmod = -1 if not data else (data[0] % 4) - 1
    binary.vector_recv(bytes(data[1:]), typmod)


# few iterations: the key derivation is not under test, the parsing is
VERIFIER = scram.Verifier.parse(scram.make_verifier("pw", iterations=16))


def _scram(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    binding = b"\x01" * 32 if fdp.ConsumeBool() else None
    ex = scram.ScramExchange(VERIFIER if fdp.ConsumeBool() else None, binding)
    mechanism = fdp.PickValueInList(["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "x"])
    first = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200))
    ex.client_first(mechanism, first)
    ex.client_final(fdp.ConsumeUnicodeNoSurrogates(len(data)))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "startup": _startup,
    "message": _message,
    "vector_text": _vector_text,
    "vector_binary": _vector_binary,
    "scram": _scram,
}


def _seed(target: str) -> list[bytes]:
    """A few valid inputs per target, written to the corpus directory once."""
    body = struct.pack(">i", 3 << 16) + b"user\0u\0database\0d\0\0"
    seeds = {
        "startup": [
            struct.pack(">i", len(body) + 4) + body,
            struct.pack(">ii", 8, pq.SSL_REQUEST_CODE),
            struct.pack(">iiii", 16, pq.CANCEL_REQUEST_CODE, 7, 9),
        ],
        "message": [
            b"Q" + struct.pack(">i", 13) + b"SELECT 1\0",
            b"P" + struct.pack(">i", 12) + b"s\0q\0" + struct.pack(">h", 0) + b"S\0\0\0\4",
        ],
        "vector_text": [b"\0[1,2,3]", b"\1[1e-3, -2.5 ,3e38]"],
        "vector_binary": [b"\0" + struct.pack(">hh", 2, 0) + struct.pack(">ff", 1.0, 2.0)],
        "scram": [b"\1\1\0\0\0\x14n,,n=,r=abcdefghijklmnopc=biws,r=abc,p=AAAA"],
    }
    return seeds[target]


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer flags]")
    target = sys.argv.pop(1)
    run = TARGETS[target]
    allowed = ALLOWED[target]

    def one(data: bytes) -> None:
        try:
            run(data)
        except VecgresError as exc:
            if exc.sqlstate not in allowed:
                raise AssertionError(f"{target}: SQLSTATE {exc.sqlstate} ({exc})") from exc

    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        seeds = CORPUS / target
        seeds.mkdir(parents=True, exist_ok=True)
        for i, seed in enumerate(_seed(target)):
            path = seeds / f"seed{i}"
            if not path.exists():
                path.write_bytes(seed)
        scratch = tempfile.mkdtemp(prefix=f"vecgres-fuzz-{target}-")
        args += [scratch, str(seeds)]
    atheris.Setup(args, one)
    atheris.Fuzz()


def parent() -> int:
    """Run the fuzzer in a child (libFuzzer leaves with exit(), past Python's
    atexit) and print the figure line from its summary."""
    target = sys.argv[1] if len(sys.argv) > 1 else "?"
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, __file__, *sys.argv[1:]],
        env={**os.environ, "VECGRES_FUZZ_CHILD": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    sys.stderr.write(child.stderr)
    runs = re.findall(r"Done (\d+) runs", child.stderr)
    print(
        f"fuzz.atheris.{target}: execs={runs[-1] if runs else 0} "
        f"crashes={int(child.returncode != 0)} seconds={time.monotonic() - started:.0f}"
    )
    return child.returncode


if __name__ == "__main__":
    if os.environ.get("VECGRES_FUZZ_CHILD"):
        main()
    else:
        sys.exit(parent())
