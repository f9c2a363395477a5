"""`suanli claims`: the seed article's claims, each checked with suanli's data and models."""
from __future__ import annotations

import typer

from suanli.cli.common import JSON_OPTION, console, guarded, print_json, table

_STYLE = {"holds": "green", "holds_for_metric": "yellow", "does_not_hold": "red", "cannot_check": "dim"}


@guarded
def claims(
    claim: list[str] = typer.Argument(None, help="Only these claim ids (e.g. C3 C5); default: all."),
    detail: bool = typer.Option(False, "--detail", help="Show every test with its numbers and sources."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Check each claim of the article: verdict, numbers and sources.

    Verdicts: holds, holds only for a metric, does not hold, cannot be checked.

    Examples:
      suanli claims
      suanli claims C3 C5 --detail
      suanli claims --json
    """
    from suanli.claims import check_claims, load_claims
    from suanli.cli.common import check_choice

    specs = load_claims()
    for c in claim or ():
        check_choice("claim", c, [s.id for s in specs])
    if claim:
        specs = [s for s in specs if s.id in claim]
    rep = check_claims(claims=specs)
    if json_out:
        print_json(rep.to_dict())
        return
    console.print(table(f"{len(rep.claims)} claims of the article, checked", ["id", "kind", "verdict", "claim"],
                        [[c.id, c.kind, f"[{_STYLE[c.verdict]}]{c.verdict.replace('_', ' ')}[/]", c.claim]
                         for c in rep.claims]))
    for c in rep.claims:
        console.print(f"[bold]{c.id}[/] [{_STYLE[c.verdict]}]{c.verdict.replace('_', ' ')}[/]: {c.summary}",
                      highlight=False)
        if c.note:
            console.print(f"  [cyan]note:[/] {c.note}", highlight=False)
        if detail:
            for t in c.tests:
                mark = {True: "[green]pass[/]", False: "[red]fail[/]", None: "[dim]info[/]"}[t.passed]
                console.print(f"  {mark} {t.label}: {t.value if t.error is None else t.error}", highlight=False)
                for n in t.inputs:
                    console.print(f"      {n.label} = {n.value} {n.unit}  [dim]{n.source}[/]", highlight=False)
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in rep.counts().items())
    console.print(f"[dim]{counts}. Data: catalog, policy rules, performance model, market_data.csv "
                  f"(suanli/claims/data).[/]")


def register(app: typer.Typer) -> None:
    app.command("claims")(claims)
