"""vecgres.server: the PostgreSQL wire protocol v3 front end.

Layers: ``protocol`` (sans-IO framing and message builders), ``connection``
(one client's state machine), ``server`` (the asyncio listener, worker
threads, cancel registry and the ``Cluster`` of databases), ``auth`` (hba
rules, user store, SCRAM). May import vecgres.engine, result, codec, types,
errors, config and the stdlib; never sql/planner/executor/storage/catalog.
The wire layer knows nothing about SQL: statements go to the engine's
``Session`` as text.
"""
