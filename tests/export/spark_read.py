"""Run by the Spark venv's Python (``make test-spark``), not by pytest: reads a Parquet export root with a
local Spark session, as a user would (``spark.read.parquet(ROOT/<table>)``, default partition inference),
and prints what the test compares with the warehouses, as one JSON object on stdout:

    {"<table>": {"counts": {account: rows}, "types": {column: spark type},
                 "instants": {account: [min, max] of the table's timestamp column in epoch microseconds],
                 "max_id": ...}}

Usage: python spark_read.py ROOT TABLE[:TIMESTAMP_COLUMN] ...
"""

import json
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(root: str, specs: list[str]) -> None:
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("zoom-etl export test")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    answer = {}
    for spec in specs:
        table, _, column = spec.partition(":")
        frame = spark.read.parquet(f"{root}/{table}")
        entry = {
            "counts": {
                r["account_id"]: r["n"]
                for r in frame.groupBy("account_id").agg(F.count("*").alias("n")).collect()
            },
            "types": {f.name: f.dataType.simpleString() for f in frame.schema.fields},
        }
        if column:
            rows = (
                frame.groupBy("account_id")
                .agg(F.unix_micros(F.min(column)).alias("lo"), F.unix_micros(F.max(column)).alias("hi"))
                .collect()
            )
            entry["instants"] = {r["account_id"]: [r["lo"], r["hi"]] for r in rows}
        if "id" in frame.columns:
            entry["max_id"] = frame.agg(F.max("id")).collect()[0][0]
        answer[table] = entry
    spark.stop()
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
