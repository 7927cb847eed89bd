"""CHECK and FOREIGN KEY constraints through the embedded API: they survive a
restart, COPY and executemany (the bulk paths) enforce them, and a DEFERRABLE
INITIALLY DEFERRED foreign key is checked at COMMIT."""

from __future__ import annotations

import pytest

import vecgres
from vecgres import errors


def _error(cur: vecgres.dbapi.Cursor, sql: str, params: object = None) -> errors.VecgresError:
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(sql, params)
    return info.value


def test_constraints_survive_a_restart(tmp_path):
    path = str(tmp_path / "db")
    con = vecgres.connect(path)
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute(
        "CREATE TABLE c (id int, score numeric CHECK (score >= 0), "
        "pid int REFERENCES p ON DELETE CASCADE)"
    )
    cur.execute("ALTER TABLE c ADD CONSTRAINT c_small CHECK (id < 100)")
    cur.execute("INSERT INTO p VALUES (1), (2)")
    cur.execute("INSERT INTO c VALUES (1, 5, 1), (2, 6, 2)")
    con.close()

    con = vecgres.connect(path)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'c'::regclass ORDER BY conname"
    )
    assert cur.fetchall() == [
        ("c_pid_fkey", "FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE"),
        ("c_score_check", "CHECK ((score >= (0)::numeric))"),
        ("c_small", "CHECK ((id < 100))"),
    ]
    err = _error(cur, "INSERT INTO c VALUES (3, -1, 1)")
    assert err.sqlstate == "23514"
    assert err.message == 'new row for relation "c" violates check constraint "c_score_check"'
    assert err.detail == "Failing row contains (3, -1, 1)."
    err = _error(cur, "INSERT INTO c VALUES (3, 1, 9)")
    assert err.sqlstate == "23503"
    assert err.detail == 'Key (pid)=(9) is not present in table "p".'
    cur.execute("DELETE FROM p WHERE id = 1")
    cur.execute("SELECT id, pid FROM c ORDER BY id")
    assert cur.fetchall() == [(2, 2)]
    con.close()


def test_copy_and_executemany_enforce_constraints(tmp_path):
    con = vecgres.connect(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute("CREATE TABLE c (id int CHECK (id > 0), pid int REFERENCES p)")
    cur.executemany("INSERT INTO p VALUES (%s)", [(1,), (2,), (3,)])
    con.commit()

    # executemany's bulk path (inside a transaction)
    with pytest.raises(errors.VecgresError) as info:
        cur.executemany("INSERT INTO c VALUES (%s, %s)", [(1, 1), (2, 5), (3, 2)])
    assert info.value.sqlstate == "23503"
    assert info.value.detail == 'Key (pid)=(5) is not present in table "p".'
    con.rollback()
    with pytest.raises(errors.VecgresError) as info:
        cur.executemany("INSERT INTO c VALUES (%s, %s)", [(1, 1), (-2, 2)])
    assert info.value.sqlstate == "23514"
    con.rollback()
    cur.executemany("INSERT INTO c VALUES (%s, %s)", [(1, 1), (2, None), (3, 3)])
    con.commit()

    # COPY from a file
    bad = tmp_path / "bad.csv"
    bad.write_text("4,1\n5,7\n")
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(f"COPY c FROM '{bad}' WITH (FORMAT csv)")
    assert info.value.sqlstate == "23503"
    con.rollback()
    neg = tmp_path / "neg.csv"
    neg.write_text("4,1\n-5,2\n")
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(f"COPY c FROM '{neg}' WITH (FORMAT csv)")
    assert info.value.sqlstate == "23514"
    assert info.value.detail == "Failing row contains (-5, 2)."
    con.rollback()
    good = tmp_path / "good.csv"
    good.write_text("4,1\n5,2\n")
    cur.execute(f"COPY c FROM '{good}' WITH (FORMAT csv)")
    con.commit()
    cur.execute("SELECT id, pid FROM c ORDER BY id")
    assert cur.fetchall() == [(1, 1), (2, None), (3, 3), (4, 1), (5, 2)]
    con.close()


def test_deferred_foreign_key_is_checked_at_commit(tmp_path):
    con = vecgres.connect(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute(
        "CREATE TABLE c (pid int, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    con.commit()

    # the child first, the parent later in the same transaction: fine at COMMIT
    cur.execute("INSERT INTO c VALUES (1)")
    cur.execute("INSERT INTO p VALUES (1)")
    con.commit()

    # a missing parent is reported by COMMIT, which rolls the transaction back
    cur.execute("INSERT INTO c VALUES (2)")
    with pytest.raises(errors.VecgresError) as info:
        con.commit()
    assert info.value.sqlstate == "23503"
    assert (
        info.value.message == 'insert or update on table "c" violates foreign key constraint "c_p"'
    )
    cur.execute("SELECT pid FROM c ORDER BY pid")
    assert cur.fetchall() == [(1,)]
    con.commit()

    # SET CONSTRAINTS ALL IMMEDIATE checks at once
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    err = _error(cur, "INSERT INTO c VALUES (3)")
    assert err.sqlstate == "23503"
    con.rollback()

    # deleting a referenced row and putting it back before COMMIT is fine
    cur.execute("DELETE FROM p WHERE id = 1")
    cur.execute("INSERT INTO p VALUES (1)")
    con.commit()
    cur.execute("DELETE FROM p WHERE id = 1")
    with pytest.raises(errors.VecgresError) as info:
        con.commit()
    assert info.value.message == (
        'update or delete on table "p" violates foreign key constraint "c_p" on table "c"'
    )
    cur.execute("SELECT id FROM p")
    assert cur.fetchall() == [(1,)]
    con.close()


def test_rollback_to_savepoint_forgets_deferred_checks(tmp_path):
    con = vecgres.connect(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute(
        "CREATE TABLE c (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED, n int CHECK (n <> 13))"
    )
    con.commit()
    cur.execute("INSERT INTO c VALUES (NULL, 1)")
    cur.execute("SAVEPOINT s")
    cur.execute("INSERT INTO c VALUES (5, 2)")  # would fail at COMMIT
    cur.execute("ROLLBACK TO SAVEPOINT s")
    con.commit()
    cur.execute("SELECT pid, n FROM c")
    assert cur.fetchall() == [(None, 1)]
    # SET CONSTRAINTS inside a rolled-back savepoint is undone with it
    cur.execute("SAVEPOINT s")
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cur.execute("ROLLBACK TO SAVEPOINT s")
    cur.execute("INSERT INTO c VALUES (5, 3)")  # deferred again: no error yet
    with pytest.raises(errors.VecgresError) as info:
        con.commit()
    assert info.value.detail == 'Key (pid)=(5) is not present in table "p".'
    # a CHECK failure inside the block leaves the transaction failed, as in PostgreSQL
    err = _error(cur, "INSERT INTO c VALUES (NULL, 13)")
    assert err.sqlstate == "23514"
    con.rollback()
    con.close()
