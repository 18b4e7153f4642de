"""The TPC-DS kit of spark-chaos: DuckDB and its tpcds extension, driven by the Rust harness.

Embedded in the `chaos` binary (src/workload/tpcds/kit.py) and written to the cache at run
time; run with the kit's venv Python. Every command prints one JSON document on stdout and
its progress on stderr.

The tpcds extension is loaded from the `duckdb-extension-tpcds` wheel by path. Extension
auto-install and auto-load are off, so DuckDB never contacts its extension repository: only
PyPI has to be reachable, once, when the venv is built.

Commands:
  check                               versions and the extension path
  queries OUT_DIR                     write q1.sql .. q99.sql from tpcds_queries()
  datagen SCALE OUT_DIR WORK_DIR      dsdgen at SCALE, every table as OUT_DIR/<table>/part-0.parquet
  answers DATA_DIR QUERY_DIR OUT_DIR  run each query on views over DATA_DIR, results as Parquet
"""

import glob
import importlib.util
import json
import os
import sys
import time

import duckdb

# Parquet written for Spark 3.5 and 4.1: format v1 pages, Snappy (both read it natively).
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880"


def log(message):
    print(f"    {message}", file=sys.stderr, flush=True)


def extension_path():
    spec = importlib.util.find_spec("duckdb_extension_tpcds")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the duckdb-extension-tpcds package is not installed in this venv")
    root = list(spec.submodule_search_locations)[0]
    wanted = os.path.join(root, "extensions", f"v{duckdb.__version__}", "tpcds.duckdb_extension")
    if os.path.isfile(wanted):
        return wanted
    found = sorted(glob.glob(os.path.join(root, "extensions", "*", "tpcds.duckdb_extension")))
    raise SystemExit(
        f"no tpcds extension for DuckDB v{duckdb.__version__} in {root} (found: {found}); "
        "duckdb and duckdb-extension-tpcds must have the same version"
    )


def connect(database=":memory:", work_dir=None, with_tpcds=True):
    config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if work_dir is not None:
        config["temp_directory"] = os.path.join(work_dir, "duckdb-tmp")
        config["extension_directory"] = os.path.join(work_dir, "duckdb-ext")
    con = duckdb.connect(database, config=config)
    if with_tpcds:
        path = extension_path().replace("'", "''")
        con.execute(f"LOAD '{path}'")
    return con


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_str(text):
    return "'" + text.replace("'", "''") + "'"


def cmd_check():
    con = connect()
    version = con.execute(
        "SELECT extension_version FROM duckdb_extensions() WHERE extension_name = 'tpcds'"
    ).fetchone()[0]
    print(json.dumps({
        "duckdb": duckdb.__version__,
        "tpcds_extension": version,
        "extension_path": extension_path(),
    }))


def cmd_queries(out_dir):
    con = connect()
    rows = con.execute("SELECT query_nr, query FROM tpcds_queries() ORDER BY query_nr").fetchall()
    os.makedirs(out_dir, exist_ok=True)
    names = []
    for number, text in rows:
        name = f"q{number}"
        with open(os.path.join(out_dir, f"{name}.sql"), "w", encoding="utf-8") as f:
            f.write(text)
        names.append(name)
    print(json.dumps({"queries": names}))


def cmd_datagen(scale, out_dir, work_dir):
    os.makedirs(work_dir, exist_ok=True)
    database = os.path.join(work_dir, "dsdgen.duckdb")
    if os.path.exists(database):
        os.remove(database)
    con = connect(database, work_dir)
    started = time.monotonic()
    con.execute(f"CALL dsdgen(sf={float(scale)!r})")
    dsdgen_s = time.monotonic() - started
    log(f"dsdgen sf={scale}: {dsdgen_s:.1f}s")
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
    ]
    started = time.monotonic()
    out = {}
    for table in tables:
        table_dir = os.path.join(out_dir, table)
        os.makedirs(table_dir, exist_ok=True)
        path = os.path.join(table_dir, "part-0.parquet")
        con.execute(f"COPY {quote_ident(table)} TO {quote_str(path)} ({PARQUET_OPTIONS})")
        rows = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0]
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        out[table] = {"rows": rows, "columns": [[c, t] for c, t in columns]}
    copy_s = time.monotonic() - started
    log(f"parquet: {copy_s:.1f}s")
    con.close()
    os.remove(database)
    print(json.dumps({"dsdgen_seconds": dsdgen_s, "parquet_seconds": copy_s, "tables": out}))


# DuckDB types Spark has no counterpart for in results, cast to what Spark's own functions
# return (sum of BIGINT is HUGEINT in DuckDB and BIGINT in Spark). A value that does not fit
# fails the cast: an answer is never silently changed.
ANSWER_CASTS = {"HUGEINT": "BIGINT", "UHUGEINT": "BIGINT", "UBIGINT": "BIGINT",
                "UINTEGER": "BIGINT", "USMALLINT": "INTEGER", "UTINYINT": "SMALLINT"}


def cmd_answers(data_dir, query_dir, out_dir):
    con = connect(with_tpcds=False)
    for table in sorted(os.listdir(data_dir)):
        files = os.path.join(data_dir, table, "*.parquet")
        con.execute(
            f"CREATE VIEW {quote_ident(table)} AS SELECT * FROM read_parquet({quote_str(files)})"
        )
    names = sorted(
        (f[:-4] for f in os.listdir(query_dir) if f.endswith(".sql")),
        key=lambda n: int(n[1:]),
    )
    os.makedirs(out_dir, exist_ok=True)
    answers = {}
    for name in names:
        with open(os.path.join(query_dir, f"{name}.sql"), encoding="utf-8") as f:
            sql = f.read().strip().rstrip(";")
        started = time.monotonic()
        # A temporary table keeps DuckDB's row order (insertion order is preserved).
        con.execute(f"CREATE OR REPLACE TEMP TABLE __answer AS {sql}")
        runtime = time.monotonic() - started
        described = con.execute("DESCRIBE __answer").fetchall()
        projection = []
        columns = []
        for column, duck_type, *_ in described:
            cast = ANSWER_CASTS.get(duck_type)
            if cast is None:
                projection.append(quote_ident(column))
            else:
                projection.append(f"CAST({quote_ident(column)} AS {cast}) AS {quote_ident(column)}")
            columns.append([column, duck_type, cast or duck_type])
        rows = con.execute("SELECT count(*) FROM __answer").fetchone()[0]
        path = os.path.join(out_dir, f"{name}.parquet")
        con.execute(
            f"COPY (SELECT {', '.join(projection)} FROM __answer) TO {quote_str(path)} "
            f"({PARQUET_OPTIONS})"
        )
        answers[name] = {"rows": rows, "duckdb_seconds": runtime, "columns": columns}
        log(f"{name}: {rows} rows in {runtime * 1000:.0f} ms")
    con.execute("DROP TABLE IF EXISTS __answer")
    print(json.dumps({"answers": answers}))


def main(argv):
    commands = {
        "check": (cmd_check, 0),
        "queries": (cmd_queries, 1),
        "datagen": (cmd_datagen, 3),
        "answers": (cmd_answers, 3),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        raise SystemExit(__doc__)
    function, _ = commands[argv[1]]
    function(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
