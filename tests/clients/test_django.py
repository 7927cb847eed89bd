"""Django 5 with pgvector.django over a socket: migrations, introspection and distance queries.

Django is configured in-process (``settings.configure``) with its PostgreSQL
backend on psycopg 3, pointed at the server the ``server`` fixture starts; the
app is tests/clients/djangoapp (a model with a VectorField and an HnswIndex,
and a migration starting with ``VectorExtension()``).
"""

from __future__ import annotations

import math

import pytest

django = pytest.importorskip("django")
pytest.importorskip("pgvector.django")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402


def _configure(port: int) -> None:
    """Configure Django once per process; later calls only repoint the connection."""
    if not settings.configured:
        settings.configure(
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": "postgres",
                    "USER": "postgres",
                    "HOST": "127.0.0.1",
                    "PORT": port,
                    "OPTIONS": {"sslmode": "disable"},
                }
            },
            INSTALLED_APPS=["djangoapp"],
            USE_TZ=True,
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        )
        django.setup()
    connections["default"].close()
    connections["default"].settings_dict["PORT"] = port


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return 1 - dot / (math.hypot(*a) * math.hypot(*b))


def test_django_migrate_introspect_and_query_distances(server):
    _configure(server.port)
    connection = connections["default"]
    try:
        call_command("migrate", "djangoapp", verbosity=0)
        # the models match the migration (reads django_migrations back)
        call_command("makemigrations", "djangoapp", "--check", "--dry-run", verbosity=0)
        assert connection.pg_version // 10000 == 16
        assert connection.vendor == "postgresql"

        from djangoapp.models import Item
        from pgvector.django import CosineDistance, L2Distance, MaxInnerProduct

        points = {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "c": [1.0, 1.0, 1.0]}
        Item.objects.bulk_create([Item(name=n, embedding=v) for n, v in points.items()])
        Item.objects.create(name="none")
        assert Item.objects.count() == 4
        assert Item.objects.filter(embedding__isnull=True).get().name == "none"

        near = list(Item.objects.annotate(d=L2Distance("embedding", [1, 2, 3])).order_by("d")[:2])
        assert [(i.name, i.d) for i in near] == [("a", 0.0), ("c", pytest.approx(math.sqrt(5)))]
        assert [float(x) for x in near[1].embedding] == [1.0, 1.0, 1.0]

        query = [1.0, 1.0, 1.0]
        by_cosine = Item.objects.annotate(d=CosineDistance("embedding", query)).order_by("d")[:3]
        expected = sorted((_cosine(v, query), n) for n, v in points.items())
        assert [(i.name, i.d) for i in by_cosine] == [(n, pytest.approx(d)) for d, n in expected]

        by_ip = Item.objects.annotate(d=MaxInnerProduct("embedding", [1, 0, 0])).order_by("d")
        assert [(i.name, i.d) for i in by_ip[:1]] == [("b", -4.0)]

        within = Item.objects.alias(d=L2Distance("embedding", [1, 2, 3])).filter(d__lt=3)
        assert sorted(within.values_list("name", flat=True)) == ["a", "c"]

        moved = Item.objects.get(name="c")
        moved.embedding = [4, 5, 7]
        moved.save()
        top = Item.objects.order_by(L2Distance("embedding", [4, 5, 6.9])).first()
        assert top is not None
        assert top.name == "c"

        # the introspection Django's inspectdb and migration autodetector use
        assert connection.introspection.table_names() == ["django_migrations", "djangoapp_item"]
        with connection.cursor() as cur:
            described = {
                f.name: f
                for f in connection.introspection.get_table_description(cur, "djangoapp_item")
            }
            assert list(described) == ["id", "name", "embedding"]
            assert described["name"].null_ok is False
            assert described["embedding"].null_ok is True
            assert described["id"].type_code == 20
            constraints = connection.introspection.get_constraints(cur, "djangoapp_item")
            sequences = connection.introspection.get_sequences(cur, "djangoapp_item")
        hnsw = constraints["item_embedding_hnsw"]
        assert (hnsw["columns"], hnsw["type"], hnsw["index"]) == (["embedding"], "hnsw", True)
        assert hnsw["options"] == ["m=16", "ef_construction=64"]
        assert constraints["djangoapp_item_pkey"]["primary_key"] is True
        assert constraints["djangoapp_item_pkey"]["columns"] == ["id"]
        assert constraints["djangoapp_item_name_key"]["unique"] is True
        like = [c for n, c in constraints.items() if n.endswith("_like")]
        assert [(c["columns"], c["type"], c["orders"]) for c in like] == [
            (["name"], "idx", ["ASC"])
        ]
        assert [(s["table"], s["column"]) for s in sequences] == [("djangoapp_item", "id")]

        # unapply: drops the index, the table, then DROP EXTENSION
        call_command("migrate", "djangoapp", "zero", verbosity=0)
        assert connection.introspection.table_names() == ["django_migrations"]
        with connection.cursor() as cur:
            cur.execute("select extname from pg_extension where extname = 'vector'")
            assert cur.fetchall() == []
    finally:
        connections.close_all()
