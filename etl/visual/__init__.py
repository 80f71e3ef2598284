"""Pages to look at: the HTML report (``zoom-etl report --html``) and the data dictionary with its
entity-relationship diagram (``zoom-etl docs --html``).

Each page is one self-contained HTML file with inline SVG drawn here in Python and inline CSS, and no
JavaScript at all: it opens offline, fetches nothing (its Content-Security-Policy forbids scripts and any
network load, so a mistake would show as a blocked request, not a silent fetch), and a value from the
warehouse (a meeting topic, a user's name) can only ever be text, because every value goes through
``svg.esc`` on its way into the page. Charting libraries were weighed, each to be inlined into every page:
uPlot 1.6.32 (51 KB minified), Chart.js 4.6.2 (213 KB), ECharts 6.1.0 (1.1 MB), Mermaid for the diagram
(megabytes). Bars, lines and boxes are a few hundred lines of SVG here instead: the pages stay small
(about 50 KB for the demo's report), the wheel carries no vendored asset, and there is no script to escape
data into. Hover titles (SVG ``<title>``) give the exact values; what is lost is zooming and panning.

Stages are joined by plain data: ``report.collect`` queries the warehouse into dicts and lists,
``report.render`` turns them into HTML; ``erd.relations`` reads the declared keys (the stream registry's
parents and the contracts' ``parent_keys``), ``erd.draw`` lays them out.
"""
