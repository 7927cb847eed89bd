"""SQLAlchemy 2 with pgvector.sqlalchemy over a socket: reflection, DDL and ORM queries."""

from __future__ import annotations

import asyncio

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")

from pgvector.sqlalchemy import VECTOR, Vector  # noqa: E402
from sqlalchemy import Index, Integer, Text, create_engine, inspect, select, text  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    embedding = mapped_column(Vector(3))


Index(
    "items_embedding_hnsw",
    Item.embedding,
    postgresql_using="hnsw",
    postgresql_with={"m": 16},
    postgresql_ops={"embedding": "vector_l2_ops"},
)


def test_create_all_reflect_and_orm_with_psycopg(server):
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres")
    try:
        with engine.begin() as conn:
            conn.execute(text("create extension if not exists vector"))
        Base.metadata.create_all(engine)
        insp = inspect(engine)
        assert insp.get_table_names() == ["items"]
        cols = {c["name"]: c for c in insp.get_columns("items")}
        assert list(cols) == ["id", "name", "embedding"]
        assert isinstance(cols["embedding"]["type"], VECTOR)
        assert cols["embedding"]["type"].dim == 3
        assert cols["id"]["nullable"] is False
        assert cols["embedding"]["nullable"] is True
        assert insp.get_pk_constraint("items")["constrained_columns"] == ["id"]
        assert insp.get_pk_constraint("items")["name"] == "items_pkey"
        indexes = {i["name"]: i for i in insp.get_indexes("items")}
        hnsw = indexes["items_embedding_hnsw"]
        assert hnsw["column_names"] == ["embedding"]
        assert hnsw["unique"] is False
        assert hnsw["dialect_options"]["postgresql_using"] == "hnsw"
        assert hnsw["dialect_options"]["postgresql_ops"] == {"embedding": "vector_l2_ops"}
        assert hnsw["dialect_options"]["postgresql_with"] == {"m": "16"}
        assert indexes["items_name_key"]["unique"] is True
        uniques = insp.get_unique_constraints("items")
        assert [(u["name"], u["column_names"]) for u in uniques] == [("items_name_key", ["name"])]
        assert insp.get_foreign_keys("items") == []

        with Session(engine) as session:
            session.add_all(
                [Item(id=i, name=f"n{i}", embedding=[i, i + 1, i + 2]) for i in range(8)]
            )
            session.commit()
            nearest = session.scalars(
                select(Item).order_by(Item.embedding.l2_distance([1, 2, 3.1])).limit(5)
            ).all()
            # no ties: 0.1, sqrt(2.81), sqrt(3.21), ...
            assert [item.id for item in nearest] == [1, 2, 0, 3, 4]
            assert list(nearest[0].embedding) == [1.0, 2.0, 3.0]
            by_cosine = session.scalars(
                select(Item.id)
                .filter(Item.id > 0)
                .order_by(Item.embedding.cosine_distance([1, 1, 1]), Item.id)
                .limit(3)
            ).all()
            assert by_cosine == [7, 6, 5]
            close = session.scalars(
                select(Item.id).filter(Item.embedding.l2_distance([3, 4, 5]) < 2).order_by(Item.id)
            ).all()
            assert close == [2, 3, 4]
            distance = session.scalar(
                select(Item.embedding.max_inner_product([1, 0, 0])).filter(Item.name == "n2")
            )
            assert distance == -2.0
        # DDL after cached prepared statements: psycopg answers it with DEALLOCATE ALL
        with engine.begin() as conn:
            conn.execute(text("alter table items add column note text"))
        assert [c["name"] for c in inspect(engine).get_columns("items")][-1] == "note"
    finally:
        engine.dispose()


def test_reflect_and_query_with_asyncpg(server):
    # SQLAlchemy's asyncio layer runs on greenlet (the sqlalchemy[asyncio] extra)
    pytest.importorskip("greenlet")
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(
            f"postgresql+asyncpg://postgres@127.0.0.1:{server.port}/postgres"
        )
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            async with engine.connect() as conn:
                names = await conn.run_sync(lambda c: inspect(c).get_table_names())
                assert names == ["items"]
                cols = await conn.run_sync(lambda c: inspect(c).get_columns("items"))
                assert [c["name"] for c in cols] == ["id", "name", "embedding"]
                assert isinstance(cols[2]["type"], VECTOR)
                indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("items"))
                hnsw = next(i for i in indexes if i["name"] == "items_embedding_hnsw")
                assert hnsw["dialect_options"]["postgresql_using"] == "hnsw"
                assert hnsw["dialect_options"]["postgresql_ops"] == {"embedding": "vector_l2_ops"}
            async with engine.begin() as conn:
                await conn.execute(
                    Item.__table__.insert(),
                    [{"id": i, "name": f"n{i}", "embedding": [i, 0, 0]} for i in range(5)],
                )
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(Item.id).order_by(Item.embedding.l2_distance([3, 0, 0])).limit(3)
                    )
                ).all()
                assert [r[0] for r in rows] in ([3, 2, 4], [3, 4, 2])
        finally:
            await engine.dispose()

    asyncio.run(run())
