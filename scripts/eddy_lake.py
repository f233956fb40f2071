"""Reads the log (`_eddy_log/`) of a directory written by Eddy's files sink, as a reader outside Eddy
would: batch entries list files, compaction entries replace files by others (docs/lake.md)."""

import json
import os
from urllib.parse import unquote

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def live_files(directory):
    """Paths (relative to `directory`) of the table's files now, in batch order."""
    log = os.path.join(directory, "_eddy_log")
    batches, compactions = [], []
    for name in os.listdir(log):
        if name.isdigit():
            batches.append(int(name))
        elif name.startswith("compact-") and name[len("compact-"):].isdigit():
            compactions.append(int(name[len("compact-"):]))
    files = []
    for batch in sorted(batches):
        with open(os.path.join(log, str(batch))) as f:
            files += [entry["path"] for entry in json.load(f)["files"]]
    for sequence in sorted(compactions):
        with open(os.path.join(log, f"compact-{sequence}")) as f:
            entry = json.load(f)
        removed = set(entry["removed"])
        at = next((i for i, path in enumerate(files) if path in removed), len(files))
        files = [p for p in files[:at] if p not in removed] + [a["path"] for a in entry["added"]] + \
                [p for p in files[at:] if p not in removed]
    return files


def partition_values(path):
    """The `name=value` directories of a relative path (values unescaped; None for Hive's NULL)."""
    values = {}
    for part in path.split("/")[:-1]:
        if "=" in part:
            name, value = part.split("=", 1)
            values[unquote(name)] = None if value == HIVE_NULL else unquote(value)
    return values
