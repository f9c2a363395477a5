"""The `suanli` command: catalog, models, policy, predictions and validation."""
from __future__ import annotations

import importlib

import typer

from suanli import __version__
from suanli.cli import catalog as catalog_cli
from suanli.cli.common import JsonErrorGroup

app = typer.Typer(
    name="suanli",
    help=(
        "suanli (算力): which accelerators, how many, at what cost, under which export-control "
        "scenario, and how sure are we.\n\nExamples:\n\n"
        "  suanli catalog compare h200-sxm h20 h100-sxm ascend-910c\n\n"
        "  suanli models show deepseek-v3 --json"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=JsonErrorGroup,
)
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(catalog_cli.models_app, name="models")


def _optional(module: str, attach) -> None:
    """Attach a command group whose module may not be installed in this build."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("suanli"):
            return
        raise
    attach(mod)


_optional("suanli.cli.policy", lambda m: app.add_typer(m.app, name="policy"))
_optional("suanli.cli.predict", lambda m: app.add_typer(m.app, name="predict"))
_optional("suanli.cli.validate", lambda m: m.register(app))


def _attach_training(m) -> None:
    import suanli.cli.predict as predict_cli

    m.register_predict(predict_cli.app)
    app.add_typer(m.plan_app, name="plan")


_optional("suanli.cli.train", _attach_training)


def _attach_fleet(m) -> None:
    import suanli.cli.train as train_cli

    m.register(train_cli.plan_app)


_optional("suanli.cli.plan_fleet", _attach_fleet)
_optional("suanli.cli.cost", lambda m: app.add_typer(m.app, name="cost"))
_optional("suanli.cli.runs", lambda m: app.add_typer(m.app, name="runs"))
_optional("suanli.cli.serve", lambda m: m.register(app))
_optional("suanli.cli.claims", lambda m: m.register(app))
_optional("suanli.cli.report", lambda m: m.register(app))
_optional("suanli.cli.bench", lambda m: app.add_typer(m.app, name="bench"))
_optional("suanli.cli.twin", lambda m: app.add_typer(m.app, name="twin"))
_optional("suanli.cli.calibrate", lambda m: m.register(app))


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"suanli {__version__}")
        raise typer.Exit(0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
