"""Reports: a study as one self-contained HTML file (charts embedded, opens offline).

:func:`study_report` solves a scenario (fleet plan, tornado, risk) and
:func:`render_study` writes the file; the charts are Plotly figure specs
(:mod:`suanli.report.charts`) drawn by the plotly.js shipped in the plotly
package and inlined into the page.
"""
from suanli.report.html import Study, render_study, study_report

__all__ = ["Study", "render_study", "study_report"]
