"""SQLModel (pgvector.sqlalchemy) and Peewee (pgvector.peewee) over a socket.

Each creates its tables, inserts, asks for nearest neighbours and reads the
schema back through its own introspection.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

sqlmodel = pytest.importorskip("sqlmodel")
peewee = pytest.importorskip("peewee")

from pgvector.peewee import VectorField  # noqa: E402
from pgvector.sqlalchemy import Vector  # noqa: E402
from sqlalchemy import Column, Index, text  # noqa: E402
from sqlmodel import Field, Session, SQLModel, create_engine, select  # noqa: E402

POINTS = {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "c": [1.0, 1.0, 1.0]}


class Doc(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(unique=True)
    embedding: Any = Field(sa_column=Column(Vector(3)))

    __table_args__ = (
        Index(
            "doc_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )


def test_sqlmodel_create_insert_and_nearest_neighbours(server):
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres")
    try:
        with engine.begin() as conn:
            conn.execute(text("create extension if not exists vector"))
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            session.add_all([Doc(title=n, embedding=v) for n, v in POINTS.items()])
            session.commit()
            nearest = session.exec(
                select(Doc).order_by(Doc.embedding.l2_distance([1, 2, 3])).limit(2)
            ).all()
            assert [(d.id, d.title) for d in nearest] == [(1, "a"), (3, "c")]
            assert [float(x) for x in nearest[1].embedding] == [1.0, 1.0, 1.0]
            distance = Doc.embedding.cosine_distance([1, 1, 1]).label("d")
            rows = session.exec(select(Doc.title, distance).order_by(distance)).all()
            assert [r[0] for r in rows] == ["c", "b", "a"]
            assert rows[0][1] == pytest.approx(0.0)
            assert rows[2][1] == pytest.approx(1 - 6 / (math.sqrt(14) * math.sqrt(3)))
            doc = session.exec(select(Doc).where(Doc.title == "b")).one()
            doc.embedding = [0, 0, 1]
            session.add(doc)
            session.commit()
            near_z = session.exec(select(Doc.title).order_by(Doc.embedding.l2_distance([0, 0, 1])))
            assert near_z.first() == "b"
        indexes = {i["name"]: i for i in sqlmodel.inspect(engine).get_indexes("doc")}
        assert indexes["doc_embedding_hnsw"]["dialect_options"]["postgresql_ops"] == {
            "embedding": "vector_cosine_ops"
        }
    finally:
        engine.dispose()


def test_peewee_create_insert_and_nearest_neighbours(server):
    db = peewee.PostgresqlDatabase(
        "postgres", user="postgres", host="127.0.0.1", port=server.port, sslmode="disable"
    )

    class Item(peewee.Model):
        name = peewee.TextField(unique=True)
        embedding = VectorField(dimensions=3, null=True)

        class Meta:
            database = db

    Item.add_index(
        peewee.SQL("CREATE INDEX item_embedding_hnsw ON item USING hnsw (embedding vector_l2_ops)")
    )
    try:
        db.connect()
        db.execute_sql("create extension if not exists vector")
        db.create_tables([Item])
        assert db.server_version // 10000 == 16
        Item.insert_many([{"name": n, "embedding": v} for n, v in POINTS.items()]).execute()
        Item.create(name="none")
        distance = Item.embedding.l2_distance([1, 2, 3])
        nearest = list(Item.select(Item, distance.alias("d")).order_by(distance).limit(2))
        assert [(i.name, i.d) for i in nearest] == [("a", 0.0), ("c", pytest.approx(math.sqrt(5)))]
        assert [float(x) for x in nearest[0].embedding] == [1.0, 2.0, 3.0]
        inner = Item.embedding.max_inner_product([1, 0, 1])
        ranked = Item.select(Item.name, inner.alias("d")).where(Item.embedding.is_null(False))
        assert [(i.name, i.d) for i in ranked.order_by(inner)] == [
            ("b", -10.0),
            ("a", -4.0),
            ("c", -2.0),
        ]
        cosine = Item.embedding.cosine_distance([1, 1, 1])
        assert Item.select(Item.name).order_by(cosine).limit(1).scalar() == "c"

        # Peewee's introspection (playhouse.reflection and pwiz read the same)
        assert "item" in db.get_tables()
        columns = {c.name: c for c in db.get_columns("item")}
        assert list(columns) == ["id", "name", "embedding"]
        assert columns["id"].primary_key is True
        assert columns["embedding"].data_type == "USER-DEFINED"
        assert columns["embedding"].null is True
        assert columns["embedding"].full_type == "vector(3)"
        assert columns["name"].null is False
        assert db.get_primary_keys("item") == ["id"]
        assert db.get_foreign_keys("item") == []
        indexes = {i.name: i for i in db.get_indexes("item")}
        assert indexes["item_embedding_hnsw"].sql == (
            "CREATE INDEX item_embedding_hnsw ON public.item USING hnsw (embedding vector_l2_ops)"
        )
        assert indexes["item_embedding_hnsw"].columns == ["embedding"]
        assert (indexes["item_name"].columns, indexes["item_name"].unique) == (["name"], True)
        db.drop_tables([Item])
        assert "item" not in db.get_tables()
    finally:
        db.close()
