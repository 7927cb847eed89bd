"""The cluster's small JSON files (roles, database ACLs), written crash-safely."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


def write_durably(path: Path, data: Any) -> None:
    """tmp → fsync → rename → fsync the directory: a crash leaves the old or the new file."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)  # no sort_keys: ACL order is meaningful
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
