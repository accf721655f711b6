"""A throwaway PostgreSQL database for a benchmark run: `<name>_bench_<pid>`, created and dropped."""

from __future__ import annotations

import os


def create_database(url: str) -> tuple[str, str]:
    """Create the run's database beside the one `url` names; return its URL and the admin DSN."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    name = f"{cfg['NAME']}_bench_{os.getpid()}"
    admin = f"host={cfg['HOST'] or '127.0.0.1'} port={cfg['PORT'] or 5432} user={cfg['USER']} dbname=postgres"
    if cfg.get("PASSWORD"):
        admin += f" password={cfg['PASSWORD']}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name, admin


def drop_database(admin: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
