"""The ``vecgres`` command: ``vecgres serve`` (the PostgreSQL wire server) and ``vecgres shell``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from vecgres.config import Settings, default_data_dir

log = logging.getLogger("vecgres")


# serve options a --config file may hold besides the Settings fields
_SERVE_KEYS = ("data", "hba", "users", "tls_cert", "tls_key")


class ConfigError(ValueError):
    """A --config file that cannot be used (reported with the file name, exit code 2)."""


def _convert(name: str, kind: str, raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    try:
        if kind == "bool":
            lowered = value.lower()
            if lowered in ("on", "true", "yes", "1"):
                return True
            if lowered in ("off", "false", "no", "0"):
                return False
            raise ValueError(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except ValueError:
        raise ConfigError(f'invalid value for parameter "{name}": "{value}"') from None
    return value


def load_config(path: str) -> dict[str, Any]:
    """A config file: JSON (``{"port": 5434}``) or postgresql.conf style (``port = 5434``)."""
    text = Path(path).read_text()
    raw: dict[str, Any] = {}
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        raw.update(loaded)
    else:
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, value = line.partition("=")
            if not sep:
                name, _, value = line.partition(" ")
            if not name.strip() or not value.strip():
                raise ConfigError(f"{path}:{number}: expected name = value")
            raw[name.strip()] = value.strip()
    kinds = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = name.replace("-", "_")
        if key in _SERVE_KEYS:
            out[key] = _convert(key, "str", value)
        elif key in kinds:
            out[key] = _convert(key, kinds[key], value)
        else:
            raise ConfigError(f'{path}: unrecognized configuration parameter "{name}"')
    return out


def _settings(config: dict[str, Any], **overrides: Any) -> Settings:
    values = {k: v for k, v in config.items() if k not in _SERVE_KEYS}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


async def _serve(args: argparse.Namespace) -> int:
    from vecgres.errors import VecgresError
    from vecgres.server.auth.hba import HbaError
    from vecgres.server.auth.users import JsonUserStore
    from vecgres.server.server import Cluster, Server, TlsConfig

    try:
        config = load_config(args.config) if args.config else {}
    except (OSError, ConfigError) as exc:
        log.error("could not load configuration: %s", exc)
        return 2
    for key in _SERVE_KEYS:
        if getattr(args, key) is None and key in config:
            setattr(args, key, config[key])
    data = args.data if args.data is not None else default_data_dir()
    settings = _settings(config, host=args.host, port=args.port)
    if bool(args.tls_cert) != bool(args.tls_key):
        log.error("--tls-cert and --tls-key go together")
        return 2
    tls = TlsConfig(args.tls_cert, args.tls_key) if args.tls_cert else None
    try:
        users = JsonUserStore(args.users) if args.users else None
        cluster = Cluster(data, settings)
    except (OSError, ValueError, VecgresError) as exc:
        log.error("could not start: %s", getattr(exc, "message", exc))
        return 1
    try:
        # as PostgreSQL replays its WAL before it accepts connections: the default
        # database recovers (and the engine loads) now, not in the first client's login
        cluster.database("postgres")
    except (OSError, VecgresError) as exc:
        cluster.close()
        log.error("could not start: %s", getattr(exc, "message", exc))
        return 1
    try:
        server = Server(cluster, settings, tls=tls, hba_file=args.hba, users=users)
        await server.start()
    except (OSError, HbaError, ValueError, VecgresError) as exc:
        cluster.close()
        log.error("could not start: %s", getattr(exc, "message", exc))
        return 1
    log.info("data directory %s", Path(data).resolve())
    print(
        f"listening on postgresql://{settings.host}:{server.port}/postgres",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("received shutdown request: stopping")
    await server.stop()
    log.info("database system is shut down")
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

    try:
        cluster = Cluster(args.data, _settings(load_config(args.config) if args.config else {}))
    except (OSError, ConfigError, VecgresError) as exc:
        print(f"vecgres: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
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
    serve.add_argument("--data", default=None, help="data directory (./vecgres-data)")
    serve.add_argument("--host", default=None, help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (5433)")
    serve.add_argument(
        "--config",
        help="settings file: JSON or postgresql.conf-style 'name = value' lines "
        "(Settings fields, and data/hba/users/tls_cert/tls_key); flags win",
    )
    serve.add_argument("--tls-cert", help="PEM certificate chain for TLS")
    serve.add_argument("--tls-key", help="PEM private key for TLS")
    serve.add_argument("--hba", help="pg_hba.conf-style rule file (first match wins)")
    serve.add_argument("--users", help='JSON file {"user": "password or SCRAM verifier"}')
    shell = sub.add_parser("shell", help="interactive SQL on the embedded database")
    shell.add_argument("--data", default=default_data_dir(), help="data directory")
    shell.add_argument("--database", default="postgres")
    shell.add_argument("--config", help="settings file (as for serve)")
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
