"""The ``vecgres`` command: ``vecgres serve`` (the PostgreSQL wire server) and ``vecgres shell``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from vecgres.config import Settings, default_data_dir

log = logging.getLogger("vecgres")


def _settings(config: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {}
    if config:
        values.update(json.loads(Path(config).read_text()))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


async def _serve(args: argparse.Namespace) -> int:
    from vecgres.server.auth.users import JsonUserStore
    from vecgres.server.server import Cluster, Server, TlsConfig

    settings = _settings(args.config, host=args.host, port=args.port)
    if bool(args.tls_cert) != bool(args.tls_key):
        log.error("--tls-cert and --tls-key go together")
        return 2
    tls = TlsConfig(args.tls_cert, args.tls_key) if args.tls_cert else None
    users = JsonUserStore(args.users) if args.users else None
    cluster = Cluster(args.data, settings)
    server = Server(cluster, settings, tls=tls, hba_file=args.hba, users=users)
    await server.start()
    print(
        f"listening on postgresql://{settings.host}:{server.port}/postgres",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    log.info("stopped")
    return 0


def _format_table(names: list[str], rows: list[list[str]]) -> str:
    """psql's aligned format: centred headers, ``-+-`` rule, ``(n rows)`` footer."""
    widths = [len(n) for n in names]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [" " + " | ".join(n.center(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * (w + 0) for w in widths).join(["-", "-"]))
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        lines.append((" " + " | ".join(cells)).rstrip())
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines)


def _shell(args: argparse.Namespace) -> int:
    from vecgres.codec.text import encode_text_column
    from vecgres.errors import VecgresError
    from vecgres.server.server import Cluster

    cluster = Cluster(args.data, _settings(args.config))
    session = cluster.session(args.database, "postgres")
    buffer = ""
    try:
        while True:
            try:
                line = input(f"{args.database}{'=>' if not buffer else '->'} ")
            except EOFError:
                break
            buffer += line + "\n"
            if not buffer.rstrip().endswith(";"):
                continue
            sql, buffer = buffer, ""
            try:
                for result in session.execute_script(sql):
                    if result.columns is None:
                        for _ in result.batches():
                            pass
                        print(result.command_tag)
                        continue
                    rows: list[list[str]] = []
                    for batch in result.batches():
                        cols = [
                            encode_text_column(batch.column(i), c.type)
                            for i, c in enumerate(result.columns)
                        ]
                        rows.extend(
                            ["" if v is None else v.decode() for v in row]
                            for row in zip(*cols, strict=True)
                        )
                    print(_format_table([c.name for c in result.columns], rows))
                    print()
            except VecgresError as exc:
                print(f"ERROR:  {exc.message}", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            session.close()
        cluster.close()
    return 0


def _check(args: argparse.Namespace) -> int:
    """``vecgres check DATA_DIR``, offline: exit 0 clean, 1 problems, 2 unusable."""
    from vecgres.errors import DatabaseLocked
    from vecgres.storage import check, fileio

    if not Path(args.data_dir).is_dir():
        print(f'vecgres check: "{args.data_dir}" is not a directory', file=sys.stderr)
        return 2
    try:
        lock = fileio.DirLock(args.data_dir)
    except DatabaseLocked as exc:
        print(f"vecgres check: {exc.message}; use SELECT vecgres_check() online", file=sys.stderr)
        return 2
    try:
        report = check.check_dir(args.data_dir, clean_tmp=args.clean)
    finally:
        lock.release()
    print(report.summary())
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vecgres", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the PostgreSQL wire-protocol server")
    serve.add_argument("--data", default=default_data_dir(), help="data directory")
    serve.add_argument("--host", default=None, help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (5433)")
    serve.add_argument("--config", help="JSON file of Settings fields")
    serve.add_argument("--tls-cert", help="PEM certificate chain for TLS")
    serve.add_argument("--tls-key", help="PEM private key for TLS")
    serve.add_argument("--hba", help="pg_hba.conf-style rule file (first match wins)")
    serve.add_argument("--users", help='JSON file {"user": "password or SCRAM verifier"}')
    shell = sub.add_parser("shell", help="interactive SQL on the embedded database")
    shell.add_argument("--data", default=default_data_dir(), help="data directory")
    shell.add_argument("--database", default="postgres")
    shell.add_argument("--config", help="JSON file of Settings fields")
    check = sub.add_parser("check", help="check a stopped data directory for corruption")
    check.add_argument("data_dir", help="data directory")
    check.add_argument("--clean", action="store_true", help="remove leftover *.tmp files")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return asyncio.run(_serve(args))
    if args.command == "check":
        return _check(args)
    return _shell(args)


if __name__ == "__main__":
    sys.exit(main())
