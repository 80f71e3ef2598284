"""The tables filled from downloaded files (``schemas/files/*.toml``): same contract format as the stream
tables, so the data dictionary prints them and DDL is made the same way, but kept apart from
``schemas/tables`` because no stream feeds them: ``rebuild`` (which rebuilds stream tables from raw
pages) must never touch them."""

from __future__ import annotations

from functools import cache

import duckdb

from etl.contracts import Contract, load_contracts, table_ddl
from etl.resources import FILE_CONTRACTS
from etl.warehouse.ddl import add_missing_columns

STREAM = "recordings download"  # the name rejects and skips are recorded under


@cache
def file_contracts() -> dict[str, Contract]:
    return load_contracts(FILE_CONTRACTS)


def create_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for contract in file_contracts().values():
        for statement in table_ddl(contract):
            conn.execute(statement)
        add_missing_columns(conn, contract)
