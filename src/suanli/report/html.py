"""One self-contained HTML file of a study: the answer, the assumptions, the charts, the error bands, the sources."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from suanli.errors import SuanliError
from suanli.jsonable import jsonable


@dataclass
class Study:
    """A solved scenario and its risk, as the report shows them."""

    fleet: dict            # FleetStudy.to_dict()
    risk: dict | None      # RiskResult.to_dict()
    scenario_file: str

    def to_dict(self) -> dict:
        return {"fleet": self.fleet, "risk": self.risk, "scenario_file": self.scenario_file}


def study_report(scenario: str | dict, *, samples: int = 1000, seed: int = 0, tornado: bool = True,
                 catalog: Any = None, progress: Callable[[str], None] | None = None) -> Study:
    """Solve ``scenario`` (fleet plan and tornado) and sample its risk (``samples`` = 0 skips the risk)."""
    from suanli.plan import plan_fleet, plan_risk

    if samples < 0:
        raise SuanliError(f"samples must be >= 0 (got {samples})", hint="e.g. --samples 1000; 0 skips the risk")
    study = plan_fleet(scenario, catalog=catalog, tornado=tornado, progress=progress)
    risk = None
    if samples:
        if progress:
            progress(f"risk: {samples} samples")
        risk = plan_risk(scenario, samples=samples, seed=seed, catalog=catalog).to_dict()
    return Study(jsonable(study.to_dict()), jsonable(risk) if risk else None,
                 scenario if isinstance(scenario, str) else "<scenario>")




def sources(obj: Any, out: dict[str, str] | None = None, label: str = "") -> dict[str, str]:
    """Every ``source`` in a nested result, with the key path it sits under (first label wins).

    >>> sources({"a": {"source": "https://x", "value": 1}, "b": [{"id": "p", "source": "book"}]})
    {'https://x': 'a', 'book': 'b.p'}
    """
    out = {} if out is None else out
    if isinstance(obj, dict):
        src = obj.get("source")
        if isinstance(src, str) and src and src not in out:
            out[src] = label or obj.get("id", "")
        for k, v in obj.items():
            if k != "source":
                sources(v, out, f"{label}.{k}" if label else str(k))
    elif isinstance(obj, list):
        for v in obj:
            sources(v, out, f"{label}.{v['id']}" if isinstance(v, dict) and "id" in v else label)
    return out


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise SuanliError("the HTML report needs plotly", hint="pip install 'suanli[web]'") from None
    return get_plotlyjs()


def render_study(study: Study, path: str | Path | None = None) -> str:
    """The report's HTML (and written to ``path`` when given); plotly.js inlined, no network needed."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from suanli import __version__
    from suanli.report.charts import all_charts

    fleet, risk = study.fleet, study.risk
    plan = fleet["plan"]
    env = Environment(loader=PackageLoader("suanli.report", "templates"), autoescape=select_autoescape(["html"]))
    import yaml

    html = env.get_template("study.html").render(
        study=study, fleet=fleet, plan=plan, risk=risk, answer=fleet["answer"],
        scenario_yaml=yaml.safe_dump(fleet["scenario"], sort_keys=False, allow_unicode=True, width=100),
        charts=json.dumps(all_charts(fleet, risk)).replace("</", "<\\/"),
        plotly_js=_plotly_js().replace("</script", "<\\/script"),
        sources=sorted(sources({"notes": fleet["notes"], "plan": plan}).items(), key=lambda t: t[1]),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        fmt=lambda v, d=4: "—" if v is None else (f"{v:,.0f}" if isinstance(v, (int, float)) and abs(v) >= 10 ** d
                                                   else (f"{v:.{d}g}" if isinstance(v, float) else str(v))))
    if path is not None:
        p = Path(path)
        if p.is_dir() or (p.parent != Path("") and not p.parent.exists()):
            raise SuanliError(f"cannot write {p}", hint="give a file path in an existing folder, e.g. -o study.html")
        tmp = p.with_name(p.name + ".partial")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(p)  # nothing half-written is left under the name asked for
    return html
