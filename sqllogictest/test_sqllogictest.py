"""One pytest test per ``.test`` file.

Backend from ``VECGRES_SLT_BACKEND`` (``embedded`` by default; ``postgres`` or
``wire`` with ``VECGRES_SLT_DSN``). Files whose first line is
``# status: xfail <reason>`` are expected to fail on vecgres and are not run
there (``VECGRES_SLT_RUN_XFAIL=1`` runs them anyway, to see if they pass now);
on a real PostgreSQL every file must pass.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_runner() -> ModuleType:
    # pytest runs with --import-mode=importlib, so this directory is not on
    # sys.path; load the runner by file path under a private module name.
    name = "vecgres_sqllogictest_runner"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("runner.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


runner = _load_runner()
BACKEND = os.environ.get("VECGRES_SLT_BACKEND", "embedded")
DSN = os.environ.get("VECGRES_SLT_DSN")
FILES = runner.discover()


def _engine_available() -> bool:
    try:
        from vecgres.engine import Database  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(runner.HERE)) for p in FILES])
def test_sqllogictest(path: Path) -> None:
    tf = runner.parse_file(path)
    labels = runner.BACKEND_LABELS[BACKEND]
    missing = [req for req in tf.requires if req not in labels]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}; backend {BACKEND} lacks it")
    on_vecgres = "vecgres" in labels
    if on_vecgres and tf.xfail and not os.environ.get("VECGRES_SLT_RUN_XFAIL"):
        pytest.xfail(tf.xfail)
    if BACKEND == "embedded" and not _engine_available():
        pytest.skip("vecgres.engine.Database is not implemented yet")
    if BACKEND != "embedded" and not DSN:
        pytest.skip(f"VECGRES_SLT_DSN is needed for the {BACKEND} backend")
    result = runner.run_file(tf, BACKEND, DSN)
    if result.crashed:
        pytest.fail(f"{path}: could not run: {result.crashed}", pytrace=False)
    if result.failures:
        shown = "\n\n".join(f.format(path) for f in result.failures[:10])
        more = len(result.failures) - 10
        tail = f"\n\n... and {more} more failing records" if more > 0 else ""
        pytest.fail(
            f"{result.failed} of {result.failed + result.passed} records failed\n\n{shown}{tail}",
            pytrace=False,
        )
