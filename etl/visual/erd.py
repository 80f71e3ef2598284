"""The entity-relationship diagram of the core tables, from declared keys only.

Two declarations say which table refers to which, and both are read here; nothing is guessed from
column names:

- the stream registry (``etl.streams``): a stream with a ``parent`` is fetched once per parent key, and
  that key (the parent stream's ``keys``) reaches every record as the page context ``context_key``;
- the contracts (``schemas/tables``): a child table built from an array nested in its parent's records
  names the parent fields it copies (``parent_keys``).

A record field becomes a column through the contract's ``source`` list. Every table also carries
``account_id``, the first column of every key, so each relation matches on it too.

The layout is layered: a table sits one column to the right of the deepest table it refers to; tables
that refer to none and that none refers to stand in a last column of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from etl.contracts import Contract
from etl.streams import STREAMS, Stream
from etl.visual.svg import esc

BOX_W, ROW_H, HEAD_H, GAP_X, GAP_Y, MARGIN = 230, 17, 24, 80, 22, 16


@dataclass(frozen=True, slots=True)
class Relation:
    """``child.column`` holds values of ``parent.parent_column``; ``declared_by`` says where that is said."""

    child: str
    column: str
    parent: str
    parent_column: str
    declared_by: str


def _column_for(contract: Contract, field: str) -> str | None:
    """The column a record field (or page context key) feeds, per the contract's ``source`` lists."""
    for column in contract.columns:
        if field in column.sources:
            return column.name
    return None


def relations(contracts: Mapping[str, Contract], streams: Sequence[Stream] = STREAMS) -> list[Relation]:
    """Every declared reference between core tables, sorted by child table and column."""
    found = set()
    by_name = {s.name: s for s in streams}
    for stream in streams:
        if not stream.parent or len(by_name[stream.parent].keys) != 1:
            continue
        parent_stream = by_name[stream.parent]
        parent = contracts.get(parent_stream.tables[0])
        parent_column = parent and _column_for(parent, parent_stream.keys[0])
        for table in stream.tables:
            child = contracts.get(table)
            column = child and _column_for(child, stream.context_key)
            if parent and parent_column and child and column:
                why = f"stream {stream.name}: fetched per {stream.parent} key, as {stream.context_key}"
                found.add(Relation(table, column, parent.table, parent_column, why))
    for child in contracts.values():
        parent = contracts.get(child.parent or "")
        for column, field in child.parent_keys.items():
            parent_column = parent and _column_for(parent, field)
            if parent and parent_column:
                why = f"contract {child.table}: rows of {child.parent}.{child.parent_field}, {field} kept"
                found.add(Relation(child.table, column, parent.table, parent_column, why))
    return sorted(found, key=lambda r: (r.child, r.column, r.parent))


@dataclass(frozen=True, slots=True)
class Box:
    table: str
    x: float
    y: float
    rows: tuple[tuple[str, str], ...]  # (column, marker: PK, FK, PK FK or "")
    more: int  # columns not shown
    history: str | None

    @property
    def height(self) -> float:
        return HEAD_H + ROW_H * (len(self.rows) + (1 if self.more else 0) + (1 if self.history else 0)) + 6

    def row_y(self, column: str) -> float:
        names = [name for name, _ in self.rows]
        index = names.index(column) if column in names else 0
        return self.y + HEAD_H + ROW_H * index + ROW_H / 2 + 2


def _layers(tables: Sequence[str], links: Sequence[Relation]) -> list[list[str]]:
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for link in links:
        if link.child != link.parent:
            parents[link.child].add(link.parent)
    depth: dict[str, int] = {}

    def level(table: str, seen: frozenset[str] = frozenset()) -> int:
        if table not in depth:
            above = [level(p, seen | {table}) for p in parents[table] if p not in seen]
            depth[table] = 1 + max(above) if above else 0
        return depth[table]

    related = {link.child for link in links} | {link.parent for link in links}
    layers: list[list[str]] = []
    for table in sorted(tables):
        if table in related:
            index = level(table)
            layers.extend([] for _ in range(index + 1 - len(layers)))
            layers[index].append(table)
    lone = sorted(t for t in tables if t not in related)
    if lone:
        layers.append(lone)
    # Within a layer, tables follow the order of their parents in the layer before (fewer crossings).
    for i in range(1, len(layers)):
        before = {t: n for n, t in enumerate(layers[i - 1])}
        layers[i].sort(key=lambda t: (min((before.get(p, 99) for p in parents.get(t, ())), default=99), t))
    return layers


def _box(contract: Contract, x: float, y: float, links: Sequence[Relation]) -> Box:
    refers = {link.column for link in links if link.child == contract.table}
    referred = {link.parent_column for link in links if link.parent == contract.table}
    rows = []
    for name in ("account_id", *contract.column_names):
        marks = " ".join(m for m, on in (("PK", name in contract.key), ("FK", name in refers)) if on)
        if marks or name in referred:
            rows.append((name, marks))
    more = len(contract.columns) + 1 - len(rows)
    return Box(contract.table, x, y, tuple(rows), more, contract.history_table)


def _draw_box(box: Box) -> list[str]:
    out = [
        f'<g class="table" id="erd-{esc(box.table)}">',
        f'<rect class="box" x="{box.x}" y="{box.y}" width="{BOX_W}" height="{box.height}" rx="6"/>',
        f'<rect class="head" x="{box.x}" y="{box.y}" width="{BOX_W}" height="{HEAD_H}" rx="6"/>',
        f'<text class="name" x="{box.x + 10}" y="{box.y + 16}">zoom.{esc(box.table)}</text>',
    ]
    y = box.y + HEAD_H + ROW_H - 3
    for name, marks in box.rows:
        out.append(f'<text class="col" x="{box.x + 10}" y="{y}">{esc(name)}</text>')
        if marks:
            out.append(f'<text class="key" x="{box.x + BOX_W - 10}" y="{y}" text-anchor="end">{marks}</text>')
        y += ROW_H
    if box.more:
        out.append(f'<text class="more" x="{box.x + 10}" y="{y}">+ {box.more} more columns</text>')
        y += ROW_H
    if box.history:
        out.append(f'<text class="more" x="{box.x + 10}" y="{y}">history: zoom.{esc(box.history)}</text>')
    out.append("</g>")
    return out


def _draw_link(link: Relation, boxes: Mapping[str, Box]) -> list[str]:
    child, parent = boxes[link.child], boxes[link.parent]
    px, py = parent.x + BOX_W, parent.row_y(link.parent_column)
    cx, cy = child.x, child.row_y(link.column)
    bend = max(30.0, (cx - px) / 2)
    title = f"{link.child}.{link.column} → {link.parent}.{link.parent_column} ({link.declared_by})"
    return [
        f'<g class="link"><title>{esc(title)}</title>',
        f'<path d="M{px},{py} C{px + bend},{py} {cx - bend},{cy} {cx},{cy}"/>',
        f'<path d="M{px + 6},{py - 5} V{py + 5}"/>',  # one parent row ...
        f'<path d="M{cx - 9},{cy} L{cx},{cy - 5} M{cx - 9},{cy} L{cx},{cy + 5}"/>',  # ... many child rows
        "</g>",
    ]


def draw(contracts: Mapping[str, Contract], links: Sequence[Relation]) -> str:
    """The diagram as one SVG element (scales to its container)."""
    layers = _layers(sorted(contracts), links)
    boxes: dict[str, Box] = {}
    for i, layer in enumerate(layers):
        y = float(MARGIN)
        for table in layer:
            box = _box(contracts[table], MARGIN + i * (BOX_W + GAP_X), y, links)
            boxes[table] = box
            y += box.height + GAP_Y
    width = MARGIN * 2 + len(layers) * BOX_W + (len(layers) - 1) * GAP_X
    height = max((b.y + b.height for b in boxes.values()), default=0) + MARGIN
    body = [line for link in links for line in _draw_link(link, boxes)]
    body += [line for box in boxes.values() for line in _draw_box(box)]
    return (
        f'<svg class="erd" viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
        f' aria-label="Entity-relationship diagram of the core tables">{"".join(body)}</svg>'
    )
