"""The `suanli` command: catalog, models, policy, predictions and validation.

:func:`build_app` builds the command tree. ``suanli catalog ...`` and
``suanli models ...`` need only their own module, so :func:`main` builds just
that group under the same root for them (the other groups import engines,
web and report code, and building their typer commands costs more than the
command itself); any other first word gets the whole tree. ``app`` (the
whole tree) is built on first access.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import typer

from suanli import __version__
from suanli.cli.common import JsonErrorGroup

HELP = (
    "suanli (算力): which accelerators, how many, at what cost, under which export-control "
    "scenario, and how sure are we.\n\nExamples:\n\n"
    "  suanli catalog compare h200-sxm h20 h100-sxm ascend-910c\n\n"
    "  suanli models show deepseek-v3 --json"
)


def _root() -> typer.Typer:
    """The root command with its options and no command groups."""
    app = typer.Typer(name="suanli", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                      cls=JsonErrorGroup)

    @app.callback(invoke_without_command=True)
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        if version:
            typer.echo(f"suanli {__version__}")
            raise typer.Exit(0)

    return app


def _attach_catalog(app: typer.Typer) -> None:
    from suanli.cli import catalog as catalog_cli

    app.add_typer(catalog_cli.app, name="catalog")
    app.add_typer(catalog_cli.models_app, name="models")


def _optional(module: str, attach: Callable) -> None:
    """Attach a command group whose module may not be installed in this build."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("suanli"):
            return
        raise
    attach(mod)


def _attach_training(app: typer.Typer, m) -> None:
    import suanli.cli.predict as predict_cli

    m.register_predict(predict_cli.app)
    app.add_typer(m.plan_app, name="plan")


def _attach_fleet(m) -> None:
    import suanli.cli.train as train_cli

    m.register(train_cli.plan_app)


def build_app(first: str | None = None) -> typer.Typer:
    """The command tree; for a first word in :data:`SINGLE_MODULE_GROUPS`, only the groups of that module."""
    app = _root()
    _attach_catalog(app)
    if first in SINGLE_MODULE_GROUPS:
        return app
    _optional("suanli.cli.policy", lambda m: app.add_typer(m.app, name="policy"))
    _optional("suanli.cli.predict", lambda m: app.add_typer(m.app, name="predict"))
    _optional("suanli.cli.validate", lambda m: m.register(app))
    _optional("suanli.cli.train", lambda m: _attach_training(app, m))
    _optional("suanli.cli.plan_fleet", _attach_fleet)
    _optional("suanli.cli.cost", lambda m: app.add_typer(m.app, name="cost"))
    _optional("suanli.cli.runs", lambda m: app.add_typer(m.app, name="runs"))
    _optional("suanli.cli.serve", lambda m: m.register(app))
    _optional("suanli.cli.claims", lambda m: m.register(app))
    _optional("suanli.cli.report", lambda m: m.register(app))
    _optional("suanli.cli.bench", lambda m: app.add_typer(m.app, name="bench"))
    _optional("suanli.cli.twin", lambda m: app.add_typer(m.app, name="twin"))
    _optional("suanli.cli.calibrate", lambda m: m.register(app))
    return app


#: First words whose commands all live in ``suanli.cli.catalog``: the tree for them is that module's groups.
SINGLE_MODULE_GROUPS = ("catalog", "models")

_app: typer.Typer | None = None


def __getattr__(name: str):  # ``from suanli.cli.main import app``: the whole tree, built once
    global _app
    if name == "app":
        if _app is None:
            _app = build_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    first = sys.argv[1] if len(sys.argv) > 1 else None
    if first in SINGLE_MODULE_GROUPS:
        build_app(first)()
    else:
        __getattr__("app")()


if __name__ == "__main__":
    main()
