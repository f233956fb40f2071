"""The benchmark's queries as DuckDB batch SQL over the same JSON-lines files Eddy reads.

    python scripts/duckdb_queries.py Q_A <input dir> [--threads 2] [--out result.jsonl]

Prints `DUCKDB query=Q_A rows=<events> seconds=<s> events_per_s=<n> groups=<g>`; with --out, writes
the result rows (sorted) as JSON lines with Eddy's column names, so the two results can be compared.
"""

import argparse
import json
import os
import time

import duckdb

PURCHASES = "{event_id: 'VARCHAR', user_id: 'BIGINT', category: 'VARCHAR', amount: 'DECIMAL(18,2)', country: 'VARCHAR', event_time: 'BIGINT'}"
BIDS = "{auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT', channel: 'VARCHAR', date_time: 'BIGINT'}"

QUERIES = {
    # 1-minute tumbling windows by category: count, sum(amount), avg(amount).
    "Q_A": (PURCHASES, """
        SELECT (event_time // 60000) * 60000 AS window_start, (event_time // 60000) * 60000 + 60000 AS window_end,
               category, count(*) AS count, sum(amount) AS revenue, avg(amount) AS avg_amount
        FROM events GROUP BY ALL"""),
    # 10-second tumbling windows by auction: count, max(price).
    "Q_B": (BIDS, """
        SELECT (date_time // 10000) * 10000 AS window_start, (date_time // 10000) * 10000 + 10000 AS window_end,
               auction, count(*) AS bids, max(price) AS max_price
        FROM events GROUP BY ALL"""),
    # 1-minute tumbling windows by user (about a million users): count, sum(amount).
    "Q_C": (PURCHASES, """
        SELECT (event_time // 60000) * 60000 AS window_start, (event_time // 60000) * 60000 + 60000 AS window_end,
               user_id, count(*) AS purchases, sum(amount) AS spent
        FROM events GROUP BY ALL"""),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("query", choices=sorted(QUERIES))
    parser.add_argument("input")
    parser.add_argument("--events", type=int, required=True, help="events in the input (for events/s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    columns, sql = QUERIES[args.query]
    connection = duckdb.connect()
    connection.execute(f"SET threads = {args.threads}")
    source = f"read_json('{os.path.join(args.input, '*.jsonl')}', format = 'newline_delimited', columns = {columns})"
    started = time.monotonic()
    cursor = connection.execute(f"WITH events AS (SELECT * FROM {source}) {sql}")
    rows = cursor.fetchall()
    seconds = time.monotonic() - started
    names = [column[0] for column in cursor.description]
    print(f"DUCKDB query={args.query} seconds={seconds:.3f} events_per_s={int(args.events / seconds)} groups={len(rows)}")
    if args.out:
        with open(args.out, "w") as f:
            for row in sorted(rows, key=lambda r: (r[0], str(r[2]))):
                f.write(json.dumps({n: (str(v) if hasattr(v, "as_tuple") else v) for n, v in zip(names, row)}) + "\n")


if __name__ == "__main__":
    main()
