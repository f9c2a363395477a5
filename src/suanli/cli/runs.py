"""`suanli runs`: the saved plan and risk runs (DuckDB results store): list, show, compare, export."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from suanli.cli.common import JSON_OPTION, console, guarded, print_json, table

app = typer.Typer(help="Saved plan and risk runs: list, show, compare, export.\n\nExamples:\n\n"
                       "  suanli runs list\n\n  suanli runs show latest --json\n\n"
                       "  suanli runs compare RUN_A RUN_B\n\n  suanli runs export runs.parquet --table samples",
                  no_args_is_help=True)
STORE = typer.Option(None, "--store", help="Results store (default ~/.suanli/runs.duckdb or SUANLI_STORE).")


def _store(path: Optional[Path]):
    from suanli.store import RunStore

    return RunStore(path, read_only=True)


@app.command("list")
@guarded
def list_cmd(kind: Optional[str] = typer.Option(None, "--kind", help="fleet, risk or study."),
             limit: int = typer.Option(50, "--limit", help="Newest first, at most this many."),
             store: Optional[Path] = STORE, json_out: bool = JSON_OPTION) -> None:
    """Saved runs, newest first.

    Examples:

      suanli runs list --kind risk
    """
    from suanli.errors import SuanliError

    if not (1 <= limit <= 100_000):
        raise SuanliError(f"--limit must be between 1 and 100,000 (got {limit})")
    with _store(store) as s:
        rows = s.list(kind, limit)
    if json_out:
        print_json(rows)
        return
    console.print(table(f"{len(rows)} runs", ["run", "kind", "name", "created", "P50/M out", "P(unmet)", "s"],
                        [[r["run_id"], r["kind"], r["name"], r["created"][:19], r["per_mtok_p50"], r["p_unmet"],
                          r["wall_s"]] for r in rows]))


@app.command("show")
@guarded
def show_cmd(run_id: str = typer.Argument(..., help="Run id (a unique prefix, or latest)."),
             store: Optional[Path] = STORE, json_out: bool = JSON_OPTION) -> None:
    """One run: inputs, outputs, versions, timings.

    Examples:

      suanli runs show latest
    """
    with _store(store) as s:
        row = s.get(run_id)
    if json_out:
        print_json(row)
        return
    console.print(table(f"run {row['run_id']}", ["", "value"], [
        ["kind", row["kind"]], ["name", row["name"]], ["created", row["created"]], ["status", row["status"]],
        ["samples / seed / backend", f"{row['samples']} / {row['seed']} / {row['backend']}"],
        ["versions", ", ".join(f"{k} {v}" for k, v in (row["versions"] or {}).items())],
        ["wall time (s)", row["wall_s"]]]))
    console.print(table("metrics", ["metric", "value"], sorted(row["metrics"].items())))


@app.command("compare")
@guarded
def compare_cmd(run_ids: list[str] = typer.Argument(..., help="Two or more run ids (prefixes)."),
                store: Optional[Path] = STORE, json_out: bool = JSON_OPTION) -> None:
    """Metrics of several runs side by side.

    Examples:

      suanli runs compare 20261203-1412 20261203-1430
    """
    with _store(store) as s:
        rows = s.compare(run_ids)
    if json_out:
        print_json(rows)
        return
    ids = [k for k in (rows[0] if rows else {}) if k != "metric"]
    console.print(table("runs compared", ["metric"] + ids, [[r["metric"]] + [r.get(i) for i in ids] for r in rows]))


@app.command("export")
@guarded
def export_cmd(path: Path = typer.Argument(..., help="Output file (.parquet or .csv)."),
               fmt: Optional[str] = typer.Option(None, "--format", help="parquet or csv (default: from the file name)."),
               table_name: str = typer.Option("runs", "--table", help="runs, metrics or samples."),
               run_id: Optional[str] = typer.Option(None, "--run", help="Only this run."),
               store: Optional[Path] = STORE, json_out: bool = JSON_OPTION) -> None:
    """Write runs, metrics or per-sample values to Parquet or CSV (for pandas, DuckDB, spreadsheets).

    Examples:

      suanli runs export samples.parquet --table samples --run latest
    """
    f = fmt or ("csv" if path.suffix.lower() == ".csv" else "parquet")
    with _store(store) as s:
        out = s.export(path, f, run_id, table_name)
    if json_out:
        print_json({"path": str(out), "format": f, "table": table_name})
        return
    console.print(f"wrote {out} ({f}, table {table_name})", highlight=False)
