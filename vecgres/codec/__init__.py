"""vecgres.codec: values between Arrow arrays and PostgreSQL's text and binary formats.

Used by the wire server (DataRow, parameters), the engine (COPY files) and the
embedded API. May import only ``vecgres.vector``, ``vecgres.types``,
``vecgres.errors``, ``vecgres.config``, pyarrow, numpy and the stdlib.

Invariant: every output byte string is exactly what PostgreSQL 15 prints for
the same value (TimeZone UTC, DateStyle ISO, IntervalStyle postgres,
extra_float_digits 1, bytea_output hex); ``tests/unit/codec`` pins the cases
measured against a real server.
"""
