"""Databases and roles of one data directory, through real clients and the real engine."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest
from wireclient import start_server

from vecgres.errors import DatabaseLocked
from vecgres.server.server import Cluster

needs_createdb = pytest.mark.skipif(
    shutil.which("createdb") is None, reason="Debian's postgresql-client is not installed"
)


def _tool(server, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*argv, "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-w"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_databases_hold_separate_data_and_drop_waits_for_sessions(engine_server):
    engine_server.server.cluster.drop_wait_s = 0.3  # PostgreSQL's 5 s, shortened
    with psycopg.connect(engine_server.dsn(), autocommit=True) as admin:
        admin.execute("create database shop")
        with psycopg.connect(engine_server.dsn(dbname="shop"), autocommit=True) as conn:
            conn.execute("create table items (id int, name text)")
            conn.execute("insert into items values (1, 'pen')")
            assert conn.execute("select name from items").fetchall() == [("pen",)]
            with pytest.raises(psycopg.errors.ObjectInUse) as busy:
                admin.execute("drop database shop")
            assert busy.value.diag.message_primary == (
                'database "shop" is being accessed by other users'
            )
            assert busy.value.diag.message_detail == (
                "There is 1 other session using the database."
            )
        with pytest.raises(psycopg.errors.UndefinedTable):
            admin.execute("select * from items")
        admin.execute("drop database shop")
    with pytest.raises(psycopg.OperationalError, match='database "shop" does not exist'):
        psycopg.connect(engine_server.dsn(dbname="shop"))
    with psycopg.connect(engine_server.dsn(), autocommit=True) as admin:
        admin.execute("create database shop")  # a new, empty database of the same name
    with (
        psycopg.connect(engine_server.dsn(dbname="shop"), autocommit=True) as conn,
        pytest.raises(psycopg.errors.UndefinedTable),
    ):
        conn.execute("select * from items")


@needs_createdb
def test_createdb_dropdb_tools(engine_server):
    engine_server.server.cluster.drop_wait_s = 0.3
    made = _tool(engine_server, "createdb", "shop")
    assert made.returncode == 0, made.stderr
    with psycopg.connect(engine_server.dsn(dbname="shop"), autocommit=True) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        busy = _tool(engine_server, "dropdb", "shop")
        assert busy.returncode == 1
        assert 'database "shop" is being accessed by other users' in busy.stderr
    dropped = _tool(engine_server, "dropdb", "shop")
    assert dropped.returncode == 0, dropped.stderr
    with pytest.raises(psycopg.OperationalError, match='database "shop" does not exist'):
        psycopg.connect(engine_server.dsn(dbname="shop"))
    again = _tool(engine_server, "dropdb", "--if-exists", "shop")
    assert again.returncode == 0, again.stderr
    assert 'database "shop" does not exist, skipping' in again.stderr


def test_create_drop_database_errors(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE app WITH OWNER = postgres ENCODING 'UTF8'")
        with pytest.raises(psycopg.errors.DuplicateDatabase, match='database "app" already'):
            conn.execute("create database app")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=r"new encoding \(LATIN1\)"):
            conn.execute("create database other encoding 'LATIN1'")
        with pytest.raises(psycopg.errors.ObjectInUse, match="currently open database"):
            conn.execute("drop database postgres")
        with pytest.raises(psycopg.errors.InvalidCatalogName, match='"nope" does not exist'):
            conn.execute("drop database nope")
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("drop database if exists nope")
        assert notices == ['database "nope" does not exist, skipping']
        conn.execute("drop database app")
    with (
        psycopg.connect(engine_server.dsn()) as conn,  # a transaction block
        pytest.raises(
            psycopg.errors.ActiveSqlTransaction,
            match="CREATE DATABASE cannot run inside a transaction block",
        ),
    ):
        conn.execute("create database inblock")
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        names = conn.execute("select 1").fetchall()
        assert names == [(1,)]
    assert engine_server.server.cluster.names() == ["postgres"]


def test_second_cluster_on_same_directory_fails(engine_server):
    with pytest.raises(DatabaseLocked, match="in use by another vecgres server"):
        Cluster(engine_server.server.cluster.root, engine_server.server.settings)


HBA = """
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


def test_sql_roles_log_in_with_scram(tmp_path):
    hba = tmp_path / "hba.conf"
    hba.write_text(HBA)
    srv = start_server(tmp_path, hba_file=str(hba))
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as admin:
            admin.execute("CREATE ROLE alice LOGIN PASSWORD 'secret'")
            admin.execute("create user bob with encrypted password 'b0b'")
            admin.execute("create role nologin_role password 'x'")
            with pytest.raises(psycopg.errors.DuplicateObject, match='role "alice" already'):
                admin.execute("create role alice")
            with pytest.raises(psycopg.errors.UndefinedObject, match='role "carol" does not'):
                admin.execute("alter role carol password 'x'")
        with psycopg.connect(srv.dsn(user="alice", password="secret")) as conn:
            assert conn.execute("show session_authorization").fetchone() == ("alice",)
        with psycopg.connect(srv.dsn(user="bob", password="b0b")) as conn:
            assert conn.execute("select 2").fetchone() == (2,)
        with pytest.raises(psycopg.OperationalError) as wrong:
            psycopg.connect(srv.dsn(user="alice", password="nope"))
        assert 'password authentication failed for user "alice"' in str(wrong.value)
        with pytest.raises(psycopg.OperationalError, match="is not permitted to log in"):
            psycopg.connect(srv.dsn(user="nologin_role", password="x"))
        with psycopg.connect(srv.dsn(), autocommit=True) as admin:
            admin.execute("alter role alice with password 'changed'")
            admin.execute("drop role bob")
            with pytest.raises(psycopg.errors.UndefinedObject, match='role "bob" does not'):
                admin.execute("drop role bob")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(srv.dsn(user="alice", password="secret"))
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(srv.dsn(user="bob", password="b0b"))
    finally:
        srv.stop()
    # roles outlive the server: they are in <data>/roles.json
    srv = start_server(tmp_path, hba_file=str(hba))
    try:
        with psycopg.connect(srv.dsn(user="alice", password="changed")) as conn:
            assert conn.execute("select 3").fetchone() == (3,)
    finally:
        srv.stop()


def test_wrong_scram_password_sqlstate(tmp_path):
    hba = tmp_path / "hba.conf"
    hba.write_text(HBA)
    srv = start_server(tmp_path, hba_file=str(hba))
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as admin:
            admin.execute("create role dave login password 'right'")
        import asyncio

        import asyncpg

        async def wrong() -> str:
            try:
                await asyncpg.connect(
                    host="127.0.0.1", port=srv.port, user="dave", password="bad", ssl=False
                )
            except asyncpg.PostgresError as exc:
                return exc.sqlstate
            return "connected"

        assert asyncio.run(wrong()) == "28P01"
    finally:
        srv.stop()
