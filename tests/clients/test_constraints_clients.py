"""Constraints as ORMs use them, over a socket: SQLAlchemy declares ForeignKey and
CheckConstraint and reflects them; Django's migrate of contenttypes and auth adds
deferred foreign keys and CHECK constraints with ALTER TABLE."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")

from sqlalchemy import (  # noqa: E402
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Table,
    create_engine,
    inspect,
    text,
)
from sqlalchemy.exc import IntegrityError  # noqa: E402


def test_sqlalchemy_declares_and_reflects_constraints(server):
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres")
    meta = MetaData()
    Table("author", meta, Column("id", Integer, primary_key=True))
    Table(
        "book",
        meta,
        Column("id", Integer, primary_key=True),
        Column("author_id", Integer, ForeignKey("author.id", ondelete="CASCADE")),
        Column("price", Numeric, CheckConstraint("price >= 0", name="book_price_ok")),
    )
    try:
        meta.create_all(engine)
        insp = inspect(engine)
        fks = insp.get_foreign_keys("book")
        assert [
            (fk["name"], fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
            for fk in fks
        ] == [("book_author_id_fkey", ["author_id"], "author", ["id"])]
        assert fks[0]["options"] == {"ondelete": "CASCADE"}
        checks = insp.get_check_constraints("book")
        assert [(c["name"], c["sqltext"]) for c in checks] == [
            ("book_price_ok", "price >= 0::numeric")
        ]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO author VALUES (1)"))
            conn.execute(text("INSERT INTO book VALUES (1, 1, 10)"))
        with pytest.raises(IntegrityError, match="book_price_ok"), engine.begin() as conn:
            conn.execute(text("INSERT INTO book VALUES (2, 1, -1)"))
        with pytest.raises(IntegrityError, match="book_author_id_fkey"), engine.begin() as conn:
            conn.execute(text("INSERT INTO book VALUES (3, 7, 1)"))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM author"))
            assert conn.execute(text("SELECT count(*) FROM book")).scalar() == 0
    finally:
        engine.dispose()


_DJANGO = textwrap.dedent(
    """
    import json, sys
    import django
    from django.conf import settings
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "postgres",
                   "USER": "postgres", "HOST": "127.0.0.1", "PORT": int(sys.argv[1]),
                   "OPTIONS": {"sslmode": "disable"}}},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "djangoapp"],
        USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    from django.core.management import call_command
    from django.db import IntegrityError, connection, transaction
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, Permission, User
    user = User.objects.create_user("ann", password="pw")
    group = Group.objects.create(name="editors")
    user.groups.add(group)
    group.permissions.add(Permission.objects.get(codename="add_user"))
    out = {"perms": sorted(user.get_all_permissions())}
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, 999)",
                            [user.id])
    except IntegrityError as exc:
        out["deferred"] = str(exc).splitlines()[0]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'auth_user_groups'::regclass AND contype = 'f' ORDER BY conname")
        out["fks"] = [row[1] for row in cur.fetchall()]
    print(json.dumps(out))
    """
)


def test_django_migrate_contenttypes_and_auth(server):
    # the whole of contenttypes' and auth's migrations (FKs, CHECKs, ALTER COLUMN TYPE),
    # then post_migrate's permissions: bulk_create's UNNEST(('{...}')::varchar(255)[])
    out = _run_django(_DJANGO, server.port)
    assert out["perms"] == ["auth.add_user"]
    assert out["deferred"] == (
        'insert or update on table "auth_user_groups" violates foreign key constraint '
        '"auth_user_groups_group_id_97559544_fk_auth_group_id"'
    )
    assert out["fks"] == [
        "FOREIGN KEY (group_id) REFERENCES auth_group(id) DEFERRABLE INITIALLY DEFERRED",
        "FOREIGN KEY (user_id) REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED",
    ]


_DJANGO_FIRST = _DJANGO.split("call_command(")[0] + textwrap.dedent(
    """
    from django.db.models.signals import post_migrate
    post_migrate.receivers.clear()  # content types and permissions are made below, by hand
    call_command("migrate", "auth", "0001", verbosity=0)
    call_command("migrate", "djangoapp", verbosity=0)
    out = {}
    with connection.cursor() as cur:
        cur.execute("INSERT INTO django_content_type (name, app_label, model) "
                    "VALUES ('item', 'djangoapp', 'item')")
        cur.execute("INSERT INTO auth_group (name) VALUES ('editors') RETURNING id")
        group = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO auth_permission (name, content_type_id, codename) "
            "SELECT 'p', id, 'c' FROM django_content_type LIMIT 1 RETURNING id")
        out["permission"] = cur.fetchone() is not None
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("INSERT INTO auth_group_permissions (group_id, permission_id) "
                            "VALUES (%s, 999)", [group])
    except IntegrityError as exc:
        out["deferred"] = str(exc).splitlines()[0]
    with transaction.atomic():
        with connection.cursor() as cur:
            # deferred: the referenced row may come later in the same transaction
            cur.execute("INSERT INTO auth_group_permissions (group_id, permission_id) "
                        "VALUES (%s, 1)", [group + 1])
            cur.execute("INSERT INTO auth_group (id, name) VALUES (%s, 'late')", [group + 1])
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'auth_group_permissions'::regclass ORDER BY conname")
        out["constraints"] = [list(row) for row in cur.fetchall()]
        cur.execute("SELECT count(*) FROM auth_group_permissions")
        out["rows"] = cur.fetchone()[0]
    print(json.dumps(out))
    """
)


def test_django_migrate_adds_deferred_foreign_keys(server):
    """auth's first migration: ALTER TABLE ADD CONSTRAINT UNIQUE and FOREIGN KEY
    DEFERRABLE INITIALLY DEFERRED, as Django emits them."""
    out = _run_django(_DJANGO_FIRST, server.port)
    assert out["permission"] is True
    assert out["deferred"] == (
        'insert or update on table "auth_group_permissions" violates foreign key constraint '
        '"auth_group_permissio_permission_id_84c5c92e_fk_auth_perm"'
    )
    assert out["constraints"] == [
        [
            "auth_group_permissio_permission_id_84c5c92e_fk_auth_perm",
            "FOREIGN KEY (permission_id) REFERENCES auth_permission(id) "
            "DEFERRABLE INITIALLY DEFERRED",
        ],
        [
            "auth_group_permissions_group_id_b120cbf9_fk_auth_group_id",
            "FOREIGN KEY (group_id) REFERENCES auth_group(id) DEFERRABLE INITIALLY DEFERRED",
        ],
        [
            "auth_group_permissions_group_id_permission_id_0cd325b0_uniq",
            "UNIQUE (group_id, permission_id)",
        ],
        ["auth_group_permissions_pkey", "PRIMARY KEY (id)"],
    ]
    assert out["rows"] == 1


def _run_django(script: str, port: int) -> dict[str, object]:
    """Django is configured once per process: each configuration runs in its own."""
    pytest.importorskip("django")
    here = Path(__file__).parent
    done = subprocess.run(
        [sys.executable, "-c", script, str(port)],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _psql(server, command: str) -> list[str]:
    conn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres sslmode=disable"
    done = subprocess.run(
        ["psql", conn, "-X", "-c", command], capture_output=True, text=True, timeout=30
    )
    assert done.stderr == "", done.stderr
    return [line.rstrip() for line in done.stdout.splitlines()]


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_describe_shows_constraint_sections(server):
    """``\\d`` as PostgreSQL 15's psql prints it against PostgreSQL 15."""
    _psql(
        server,
        "create table p (id int primary key, u int unique); "
        "create table c (cid int, pid int references p on delete cascade, pu int, "
        "foreign key (pu) references p(u) on update set null deferrable initially deferred, "
        "score numeric check (score >= 0), check (cid < pid), "
        "constraint named_c check (cid > 0 and pid < 100))",
    )
    assert _psql(server, "\\d c") == [
        '                 Table "public.c"',
        " Column |  Type   | Collation | Nullable | Default",
        "--------+---------+-----------+----------+---------",
        " cid    | integer |           |          |",
        " pid    | integer |           |          |",
        " pu     | integer |           |          |",
        " score  | numeric |           |          |",
        "Check constraints:",
        '    "c_check" CHECK (cid < pid)',
        '    "c_score_check" CHECK (score >= 0::numeric)',
        '    "named_c" CHECK (cid > 0 AND pid < 100)',
        "Foreign-key constraints:",
        '    "c_pid_fkey" FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE',
        '    "c_pu_fkey" FOREIGN KEY (pu) REFERENCES p(u) ON UPDATE SET NULL '
        "DEFERRABLE INITIALLY DEFERRED",
        "",
    ]
    assert _psql(server, "\\d p")[-4:] == [
        "Referenced by:",
        '    TABLE "c" CONSTRAINT "c_pid_fkey" FOREIGN KEY (pid) REFERENCES p(id) ON DELETE '
        "CASCADE",
        '    TABLE "c" CONSTRAINT "c_pu_fkey" FOREIGN KEY (pu) REFERENCES p(u) ON UPDATE SET '
        "NULL DEFERRABLE INITIALLY DEFERRED",
        "",
    ]
