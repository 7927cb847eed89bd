"""WIRE.md section 4: PostgreSQL 15's answers to protocol edge cases, over raw sockets."""

from __future__ import annotations

import struct

from wireclient import Raw, fields, kinds, msg


def cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def parse(name: str, sql: str, oids: tuple[int, ...] = ()) -> bytes:
    return msg(
        "P",
        cstr(name)
        + cstr(sql)
        + struct.pack(">h", len(oids))
        + b"".join(struct.pack(">I", o) for o in oids),
    )


def bind(
    portal: str,
    stmt: str,
    params: list[bytes | None] = (),
    pfmt: list[int] = (),
    rfmt: list[int] = (),
) -> bytes:
    body = (
        cstr(portal)
        + cstr(stmt)
        + struct.pack(">h", len(pfmt))
        + b"".join(struct.pack(">h", f) for f in pfmt)
    )
    body += struct.pack(">h", len(params))
    for p in params:
        body += struct.pack(">i", -1) if p is None else struct.pack(">i", len(p)) + p
    body += struct.pack(">h", len(rfmt)) + b"".join(struct.pack(">h", f) for f in rfmt)
    return msg("B", body)


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return msg("E", cstr(portal) + struct.pack(">i", max_rows))


SYNC = msg("S")


def query(sql: str) -> bytes:
    return msg("Q", cstr(sql))


def test_startup_reports_parameters_in_pg_order(fake_server):
    raw = Raw(fake_server.port)
    out = raw.startup(application_name="t")
    names = [body.split(b"\0")[0].decode() for k, body in out if k == "S"]
    assert names == [
        "application_name",
        "client_encoding",
        "DateStyle",
        "default_transaction_read_only",
        "in_hot_standby",
        "integer_datetimes",
        "IntervalStyle",
        "is_superuser",
        "server_encoding",
        "server_version",
        "session_authorization",
        "standard_conforming_strings",
        "TimeZone",
    ]
    assert kinds(out)[:1] == "R"
    assert out[-2][0] == "K"
    assert out[-1] == ("Z", b"I")


def test_incomplete_startup_packet_closes_silently(fake_server):
    raw = Raw(fake_server.port)
    raw.send(b"\x00\x00")
    raw.sock.shutdown(1)
    assert raw.closed()


def test_huge_startup_length_closes_without_message(fake_server):
    raw = Raw(fake_server.port)
    raw.send(struct.pack(">ii", 0x7FFFFFFF, 3 << 16))
    assert raw.closed()


def test_protocol_4_is_refused(fake_server):
    raw = Raw(fake_server.port)
    body = struct.pack(">i", 4 << 16) + b"user\0x\0\0"
    raw.send(struct.pack(">i", len(body) + 4) + body)
    kind, body = raw.message()
    assert kind == "E"
    assert fields(body) == {
        "S": "FATAL",
        "V": "FATAL",
        "C": "0A000",
        "M": "unsupported frontend protocol 4.0: server supports 3.0 to 3.0",
    }
    assert raw.closed()


def test_protocol_3_5_with_pq_option_negotiates(fake_server):
    raw = Raw(fake_server.port)
    body = struct.pack(">i", (3 << 16) | 5) + b"user\0postgres\0_pq_.foo\0bar\0\0"
    raw.send(struct.pack(">i", len(body) + 4) + body)
    out = raw.until("Z")
    assert out[0] == ("v", struct.pack(">ii", 3 << 16, 1) + b"_pq_.foo\0")
    assert out[-1] == ("Z", b"I")


def test_missing_user(fake_server):
    raw = Raw(fake_server.port)
    body = struct.pack(">i", 3 << 16) + b"database\0postgres\0\0"
    raw.send(struct.pack(">i", len(body) + 4) + body)
    assert fields(raw.message()[1])["C"] == "28000"


def test_unknown_startup_option(fake_server):
    raw = Raw(fake_server.port)
    out = raw.startup(foo="bar")
    assert fields(out[-1][1]) == {
        "S": "FATAL",
        "V": "FATAL",
        "C": "42704",
        "M": 'unrecognized configuration parameter "foo"',
    }


def test_missing_database(fake_server):
    raw = Raw(fake_server.port)
    out = raw.startup(database="nope")
    assert fields(out[-1][1])["M"] == 'database "nope" does not exist'
    assert fields(out[-1][1])["C"] == "3D000"


def test_ssl_and_gssenc_requests_answered_n_without_tls(fake_server):
    raw = Raw(fake_server.port)
    raw.send(struct.pack(">ii", 8, 80877104))
    assert raw.sock.recv(1) == b"N"
    raw.send(struct.pack(">ii", 8, 80877103))
    assert raw.sock.recv(1) == b"N"
    assert raw.startup()[-1] == ("Z", b"I")


def test_unknown_message_type_is_fatal(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(msg("y"))
    kind, body = raw.message()
    assert (kind, fields(body)["C"], fields(body)["S"]) == ("E", "08P01", "FATAL")
    assert fields(body)["M"] == "invalid frontend message type 121"
    assert raw.closed()


def test_bad_lengths_close_silently(fake_server):
    for data in (
        b"S\x00\x00\x00\x02",
        b"S" + struct.pack(">i", 100000),
        b"Q" + struct.pack(">i", 0x3FFFFFFF),
    ):
        raw = Raw(fake_server.port)
        raw.startup()
        raw.send(data)
        assert raw.closed(), data


def test_embedded_nul_in_query_is_an_error_not_fatal(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(msg("Q", b"select 1\0x\0"))
    out = raw.until("Z")
    assert fields(out[0][1])["C"] == "08P01"
    assert fields(out[0][1])["S"] == "ERROR"
    assert out[-1] == ("Z", b"I")


def test_invalid_utf8_query(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(msg("Q", b"select \xff\0"))
    out = raw.until("Z")
    assert fields(out[0][1])["C"] == "22021"
    assert fields(out[0][1])["M"] == 'invalid byte sequence for encoding "UTF8": 0xff'


def test_empty_queries(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    for sql in ("", ";"):
        raw.send(query(sql))
        assert kinds(raw.until("Z")) == "I Z"


def test_multi_statement_error_skips_rest(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("select 1; select 1/0; select 3"))
    out = raw.until("Z")
    assert kinds(out) == "T D C E Z"
    assert out[2][1] == b"SELECT 1\0"
    assert fields(out[3][1])["C"] == "22012"


def test_failed_transaction_status(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("begin; select 1/0"))
    assert raw.until("Z")[-1] == ("Z", b"E")
    raw.send(query("select 1"))
    out = raw.until("Z")
    assert fields(out[0][1])["C"] == "25P02"
    assert out[-1] == ("Z", b"E")
    raw.send(query("rollback"))
    assert raw.until("Z")[-1] == ("Z", b"I")


def test_pipelined_simple_queries(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("select 1") + query("select 2"))
    assert kinds(raw.until("Z")) == "T D C Z"
    assert kinds(raw.until("Z")) == "T D C Z"


def test_extended_error_skips_until_sync(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(
        parse("", "select 1/0")
        + bind("", "")
        + execute()
        + parse("", "select 1")
        + bind("", "")
        + execute()
        + SYNC
    )
    out = raw.until("Z")
    assert kinds(out) == "1 2 E Z"
    assert fields(out[2][1])["C"] == "22012"
    raw.send(parse("", "select 1") + bind("", "") + msg("D", b"P\0") + execute() + SYNC)
    assert kinds(raw.until("Z")) == "1 2 T D C Z"


def test_three_syncs(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(SYNC * 3)
    assert [raw.message()[0] for _ in range(3)] == ["Z", "Z", "Z"]


def test_unknown_portal_and_statement(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(execute("nope") + SYNC)
    out = raw.until("Z")
    assert (fields(out[0][1])["C"], fields(out[0][1])["M"]) == (
        "34000",
        'portal "nope" does not exist',
    )
    raw.send(bind("", "nope") + SYNC)
    out = raw.until("Z")
    assert (fields(out[0][1])["C"], fields(out[0][1])["M"]) == (
        "26000",
        'prepared statement "nope" does not exist',
    )


def test_bind_parameter_count_mismatch(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select 1") + bind("", "", [b"1"]) + SYNC)
    out = raw.until("Z")
    assert (
        fields(out[1][1])["M"]
        == 'bind message supplies 1 parameters, but prepared statement "" requires 0'
    )
    assert fields(out[1][1])["C"] == "08P01"


def test_binary_int4_param_too_short(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select $1", (23,)) + bind("", "", [b"\0\0\1"], [1]) + SYNC)
    out = raw.until("Z")
    assert fields(out[1][1])["C"] == "08P01"
    assert fields(out[1][1])["M"] == "insufficient data left in message"


def test_binary_param_with_bytes_left_names_the_parameter(fake_server):
    """exec_bind_message's own check after the type's recv: 22P03 with the number."""
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select $1", (23,)) + bind("", "", [b"\0\0\0\1\0"], [1]) + SYNC)
    out = raw.until("Z")
    assert fields(out[1][1])["C"] == "22P03"
    assert fields(out[1][1])["M"] == "incorrect binary data format in bind parameter 1"


def test_duplicate_named_statement(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("s1", "select 1") + parse("s1", "select 1") + SYNC)
    out = raw.until("Z")
    assert kinds(out) == "1 E Z"
    assert fields(out[1][1]) == {
        "S": "ERROR",
        "V": "ERROR",
        "C": "42P05",
        "M": 'prepared statement "s1" already exists',
    }


def test_describe_statement_gives_inferred_types(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select $1::int8, $2", (0, 0)) + msg("D", b"S\0") + SYNC)
    out = raw.until("Z")
    assert kinds(out) == "1 t T Z"
    assert out[1][1] == struct.pack(">hII", 2, 20, 25)


def test_wrong_result_format_count(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select $1::int8, $2") + bind("", "", [b"1", b"x"], [], [0, 1, 0]) + SYNC)
    out = raw.until("Z")
    assert fields(out[1][1])["M"] == "bind message has 3 result formats but query has 2 columns"


def test_max_rows_suspends_and_unnamed_portal_dies_at_sync(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select generate_series(5)") + bind("", "") + execute("", 2) + SYNC)
    assert kinds(raw.until("Z")) == "1 2 D D s Z"
    raw.send(execute("", 2) + SYNC)
    out = raw.until("Z")
    assert fields(out[0][1])["M"] == 'portal "" does not exist'


def test_named_portal_survives_sync_inside_transaction(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("begin"))
    raw.until("Z")
    raw.send(parse("s", "select generate_series(5)") + bind("c", "s") + execute("c", 2) + SYNC)
    assert kinds(raw.until("Z")) == "1 2 D D s Z"
    raw.send(execute("c", 2) + SYNC)
    assert kinds(raw.until("Z")) == "D D s Z"
    raw.send(execute("c", 2) + SYNC)
    out = raw.until("Z")
    assert kinds(out) == "D C Z"
    assert out[1][1] == b"SELECT 5\0"


def test_flush_sends_results_without_ready_for_query(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(parse("", "select 1") + bind("", "") + execute() + msg("H"))
    out = raw.until("C")
    assert kinds(out) == "1 2 D C"
    raw.sock.settimeout(0.3)
    assert raw.message() is None


def test_error_has_severity_code_message_position(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("bogus"))
    out = raw.until("Z")
    assert fields(out[0][1]) == {
        "S": "ERROR",
        "V": "ERROR",
        "C": "42601",
        "M": 'syntax error at or near "bogus"',
        "P": "1",
    }


def test_internal_error_hides_python_details(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("boom"))
    out = raw.until("Z")
    assert fields(out[0][1]) == {"S": "ERROR", "V": "ERROR", "C": "XX000", "M": "internal error"}
    assert out[-1] == ("Z", b"I")


def test_notice_and_parameter_status(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("notice"))
    out = raw.until("Z")
    assert kinds(out) == "N C Z"
    assert fields(out[0][1]) == {
        "S": "NOTICE",
        "V": "NOTICE",
        "C": "00000",
        "M": "hello",
        "H": "Be nice.",
    }
    raw.send(query("set application_name = 'x'"))
    out = raw.until("Z")
    assert kinds(out) == "S C Z"
    assert out[0][1] == b"application_name\0x\0"


def test_copy_from_stdin_and_to_stdout(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("copy t from stdin"))
    kind, body = raw.message()
    assert (kind, body) == ("G", b"\0\0\2\0\0\0\0")
    raw.send(msg("d", b"1\ta\n2\tb\n") + msg("c"))
    out = raw.until("Z")
    assert kinds(out) == "C Z"
    assert out[0][1] == b"COPY 2\0"
    raw.send(query("copy t from stdin"))
    raw.message()
    raw.send(msg("f", b"client gave up\0"))
    out = raw.until("Z")
    assert fields(out[0][1])["M"] == "COPY from stdin failed: client gave up"
    assert fields(out[0][1])["C"] == "57014"
    raw.send(query("copy t to stdout"))
    assert kinds(raw.until("Z")) == "H d d c C Z"


def test_query_during_copy_in_loses_sync(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("copy t from stdin"))
    raw.message()
    raw.send(query("select 1"))
    first = fields(raw.message()[1])
    second = fields(raw.message()[1])
    assert first["M"] == "unexpected message type 0x51 during COPY from stdin"
    assert (second["S"], second["M"]) == (
        "FATAL",
        "terminating connection because protocol synchronization was lost",
    )
    assert raw.closed()


def test_cancel_request(fake_server):
    raw = Raw(fake_server.port)
    out = raw.startup()
    pid, secret = struct.unpack(">ii", next(b for k, b in out if k == "K"))
    raw.send(query("sleep 5"))
    import time

    time.sleep(0.2)
    bad = Raw(fake_server.port)
    bad.send(struct.pack(">iiii", 16, 80877102, pid, secret ^ 1))
    assert bad.closed()
    cancel = Raw(fake_server.port)
    cancel.send(struct.pack(">iiii", 16, 80877102, pid, secret))
    assert cancel.closed()
    out = raw.until("Z")
    assert fields(out[0][1])["C"] == "57014"


def test_terminate_closes(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(msg("X"))
    assert raw.closed()


def test_client_disconnect_mid_stream_does_not_hurt_server(fake_server):
    raw = Raw(fake_server.port)
    raw.startup()
    raw.send(query("select many"))
    raw.message()
    raw.close()
    other = Raw(fake_server.port)
    other.startup()
    other.send(query("select 7"))
    assert kinds(other.until("Z")) == "T D C Z"


def test_too_many_connections(tmp_path):
    from fake_session import FakeDatabase
    from wireclient import start_server

    from vecgres.config import Settings

    srv = start_server(
        tmp_path, opener=lambda p, s: FakeDatabase(), settings=Settings(port=0, max_connections=1)
    )
    try:
        first = Raw(srv.port)
        first.startup()
        second = Raw(srv.port)
        out = second.startup()
        assert fields(out[-1][1]) == {
            "S": "FATAL",
            "V": "FATAL",
            "C": "53300",
            "M": "sorry, too many clients already",
        }
    finally:
        srv.stop()
