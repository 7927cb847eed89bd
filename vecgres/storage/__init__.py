"""Storage: the only package that touches files.

WAL, growing and sealed segments, delete bitmaps, the manifest, snapshots,
compaction and crash recovery. Knows nothing about SQL: tables are numbers,
columns are Arrow fields, the catalog is an opaque blob that is versioned
with the data. See README.md in this folder for the on-disk format and the
commit protocol.

May import: the standard library, numpy, pyarrow, ``vecgres.config`` and
``vecgres.errors``. Only ``fileio.py`` calls open/write/fsync/rename/unlink.
Invariant: nothing a live Snapshot can see ever changes (see README, MVCC).
The public API is ``vecgres.storage.store``.
"""
