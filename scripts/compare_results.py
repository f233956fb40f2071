"""Compares a windowed result written by Eddy's files sink with DuckDB's (scripts/duckdb_queries.py).

    python scripts/compare_results.py <eddy sink dir> <duckdb.jsonl>

Rows are matched by (window_start, key); integers and decimals must be equal, doubles within 1e-9
relative. Exits 1 and shows the first differences otherwise.
"""

import datetime
import json
import os
import sys

from eddy_lake import live_files


def epoch_ms(value):
    if isinstance(value, int):
        return value
    return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def eddy_rows(directory):
    for name in live_files(directory):
        with open(os.path.join(directory, name)) as part:
            for line in part:
                if line.strip():
                    yield json.loads(line)


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
    return str(a) == str(b)


def main():
    eddy_dir, duck_path = sys.argv[1], sys.argv[2]
    # Rows as tuples (not dicts): Q_C's results are millions of rows.
    with open(duck_path) as f:
        first = json.loads(f.readline())
        columns = list(first)
        key_name = [k for k in columns if k not in ("window_start", "window_end")][0]
        f.seek(0)
        expected = {}
        for line in f:
            r = json.loads(line)
            expected[(r["window_start"], str(r[key_name]))] = tuple(r[c] for c in columns)
    actual = {}
    for row in eddy_rows(eddy_dir):
        key = (epoch_ms(row["window_start"]), str(row[key_name]))
        if key in actual:
            print(f"compare: Eddy wrote window {key} twice"); sys.exit(1)
        actual[key] = tuple(epoch_ms(row[c]) if c in ("window_start", "window_end") else row.get(c) for c in columns)
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual or key not in expected:
            problems.append(f"{key}: only in {'DuckDB' if key in expected else 'Eddy'}")
            if len(problems) >= 5: break
            continue
        for column, value, mine in zip(columns, expected[key], actual[key]):
            if column in ("window_start", "window_end"):
                if mine != value:
                    problems.append(f"{key}: {column} {mine} != {value}")
            elif not same(mine, value):
                problems.append(f"{key}: {column} Eddy {mine} DuckDB {value}")
    if problems:
        print(f"compare: differences, first: " + "; ".join(problems[:5])); sys.exit(1)
    print(f"compare: Eddy and DuckDB agree on all {len(expected)} windows")


if __name__ == "__main__":
    main()
