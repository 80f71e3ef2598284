"""The HTML shell both pages share: a Content-Security-Policy that allows no script and no network load,
inline CSS, sections, and plain tables whose cells are escaped here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from etl.visual.svg import esc

# No script may run and nothing may be fetched: only the inline styles are allowed.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root { --ink: #1f2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); }
header { padding: 20px 28px 12px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
nav { margin-top: 8px; font-size: 13px; }
nav a { color: #2d6cdf; margin-right: 10px; text-decoration: none; white-space: nowrap; }
main { padding: 16px 28px 40px; display: grid; gap: 16px;
       grid-template-columns: repeat(auto-fill, minmax(min(100%, 520px), 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
          min-width: 0; }
section.wide { grid-column: 1 / -1; }
section h2 { margin: 0 0 2px; font-size: 16px; }
section h3 { margin: 14px 0 4px; font-size: 14px; }
section p.note { margin: 0 0 8px; color: var(--muted); font-size: 12.5px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); }
svg text { font-size: 11px; fill: var(--muted); }
svg text.label, svg text.legend { fill: var(--ink); }
svg text.empty { font-size: 14px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; }
.ok { background: #dcfae6; color: #067647; } .partial, .stale { background: #fef0c7; color: #93370d; }
.failed, .old { background: #fee4e2; color: #b42318; }
.running, .fresh { background: #e0eaff; color: #2d3ba8; }
td.code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
section ul { margin: 4px 0 10px; padding-left: 18px; font-size: 13px; }
svg.erd { width: 100%; height: auto; display: block; min-width: 900px; }
svg.erd .box { fill: #fff; stroke: #98a2b3; }
svg.erd .head { fill: #2d6cdf; }
svg.erd text.name { fill: #fff; font-weight: 600; font-size: 12px; }
svg.erd text.col { fill: var(--ink); font: 11.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
svg.erd text.key { fill: #b54708; font-weight: 600; }
svg.erd text.more { font-style: italic; }
svg.erd .link path { fill: none; stroke: #667085; stroke-width: 1.4; }
.kpis { display: flex; gap: 24px; flex-wrap: wrap; margin: 6px 0 2px; }
.kpi b { display: block; font-size: 20px; } .kpi span { color: var(--muted); font-size: 12px; }
"""


@dataclass(frozen=True, slots=True)
class Section:
    """One card: ``body`` is HTML already escaped (charts from ``svg``, tables from ``table``)."""

    anchor: str
    title: str
    body: str
    note: str = ""
    wide: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: ``text`` is escaped; ``css`` names classes (``num`` aligns numbers right)."""

    text: object
    css: str = ""
    badge: bool = False


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; every cell is escaped (a ``Cell`` adds a class or a badge)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    lines = []
    for row in rows:
        cells = []
        for value in row:
            cell = value if isinstance(value, Cell) else Cell(value)
            text = esc(cell.text)
            if cell.badge:
                cells.append(f'<td><span class="badge {esc(cell.css)}">{text}</span></td>')
            else:
                css = f' class="{esc(cell.css)}"' if cell.css else ""
                cells.append(f"<td{css}>{text}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(lines)}</table></div>'


def document(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole page: one file, nothing to fetch."""
    nav = " ".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    cards = []
    for s in sections:
        note = f'<p class="note">{esc(s.note)}</p>' if s.note else ""
        css = ' class="wide"' if s.wide else ""
        cards.append(f'<section id="{esc(s.anchor)}"{css}><h2>{esc(s.title)}</h2>{note}{s.body}</section>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p><nav>{nav}</nav></header>"
        f"<main>{''.join(cards)}</main></body></html>\n"
    )
