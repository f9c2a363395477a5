"""`suanli report`: a study as one self-contained HTML file (charts embedded, opens offline)."""
from __future__ import annotations

from pathlib import Path

import typer

from suanli.cli.common import JSON_OPTION, console, err_console, guarded, print_json


@guarded
def report(
    scenario: Path = typer.Argument(..., help="Scenario YAML file (see examples/scenarios/, suanli plan schema)."),
    output: Path = typer.Option(Path("study.html"), "-o", "--output", help="HTML file to write (default study.html)."),
    samples: int = typer.Option(1000, "--samples", "-N", help="Risk samples (0 skips the risk section)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the risk samples."),
    tornado: bool = typer.Option(True, "--tornado/--no-tornado", help="Rank the inputs by how much they move cost."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Solve a scenario (fleet plan, tornado, risk) and write the study as one HTML file: the answer,
    assumptions, sources and error bands, with its charts embedded.

    Examples:
      suanli report examples/scenarios/china-2026-deepseek.yaml -o study.html
      suanli report examples/scenarios/china-2026-state-funded.yaml -o state.html --samples 2000 --json
    """
    from suanli.errors import SuanliError
    from suanli.report import render_study, study_report

    if samples < 0 or samples > 100_000:
        raise SuanliError(f"--samples must be 0-100000 (got {samples})", hint="e.g. --samples 1000; 0 skips the risk")
    if output.is_dir() or not output.resolve().parent.exists():
        raise SuanliError(f"cannot write {output}", hint="give a file path in an existing folder, e.g. -o study.html")
    show = not json_out and err_console.is_terminal
    if show:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                      transient=True) as prog:
            task = prog.add_task("planning", total=None)
            study = study_report(str(scenario), samples=samples, seed=seed, tornado=tornado,
                                 progress=lambda m: prog.update(task, description=m))
            prog.update(task, description="writing the report")
            html = render_study(study, output)
    else:
        study = study_report(str(scenario), samples=samples, seed=seed, tornado=tornado)
        html = render_study(study, output)
    a = study.fleet["answer"]
    if json_out:
        print_json({"output": str(output), "bytes": len(html.encode("utf-8")), "answer": a,
                    "risk": None if study.risk is None else {"per_mtok": study.risk["per_mtok"],
                                                             "p_unmet": study.risk["p_unmet"]}})
        return
    console.print(f"wrote {output} ({len(html.encode('utf-8')) / 1e6:.1f} MB, opens offline): "
                  f"{a['per_mtok']['output']:.3g} {a['currency']} per million output tokens", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
