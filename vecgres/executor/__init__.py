"""Running plans on a snapshot.

Relational work runs in DuckDB over zero-copy Arrow views of the snapshot
(``relation.py`` builds them, ``duck.py`` owns the per-session DuckDB
connection); exact vector top-k runs in numpy/faiss on the segments'
memory-mapped vectors (``topk.py``). Imports: storage, index, catalog and the
bottom modules; nothing above.
"""
