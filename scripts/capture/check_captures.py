#!/usr/bin/env python3
"""Sanity-checks the captured client frames and prints a summary table.

For each capture listed in OUT/manifest.json: every frame's size prefix matches its length and its
request header parses (api key/version/correlation id/client id match the manifest); there is at
least one ApiVersions, Metadata and Produce frame; every Produce frame decodes completely and its
records field holds magic-2 record batches with a valid CRC-32C, compression bits
(attributes & 7) equal to the codec id, and exactly the 5 expected records (keys, values, header,
and timestamps where the client sets them).

Usage: .venv/bin/python scripts/capture/check_captures.py [OUT]   (exit status 1 on any failure)
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_wire import (CODECS, Reader, api_name, decode_record_batches, parse_produce_request,  # noqa: E402
                        parse_request_header)


def check_capture(root: str, cap: dict, expected_records: list, problems: list) -> dict:
    where = f"{cap['client']}/{cap['codec']}"
    codec_id = CODECS[cap["codec"]]
    summary = {"apis": [], "produce": [], "software": None}

    def fail(msg):
        problems.append(f"{where}: {msg}")

    if not cap.get("run", {}).get("ok"):
        fail(f"client run failed ({cap.get('run', {}).get('returncode')})")
    on_disk = sorted(f for f in os.listdir(os.path.join(root, cap["directory"])) if f.endswith(".bin")) \
        if os.path.isdir(os.path.join(root, cap["directory"])) else []
    if on_disk != sorted(f["file"] for f in cap["files"]):
        fail(f"files on disk {on_disk} differ from manifest")
    seen = set()
    for f in cap["files"]:
        path = os.path.join(root, cap["directory"], f["file"])
        try:
            frame = open(path, "rb").read()
        except OSError as e:
            fail(str(e))
            continue
        size = int.from_bytes(frame[:4], "big", signed=True)
        if size != len(frame) - 4:
            fail(f"{f['file']}: size prefix {size} != {len(frame) - 4}")
            continue
        key, version, corr, client_id, r = parse_request_header(frame[4:])
        if (key, version, corr, client_id) != (f["api_key"], f["api_version"], f["correlation_id"], f["client_id"]):
            fail(f"{f['file']}: header {(key, version, corr, client_id)} differs from manifest")
        seen.add(key)
        summary["apis"].append(f"{api_name(key)} v{version}")
        if key == 18 and version >= 3 and summary["software"] is None:
            summary["software"] = f"{r.string(True)} {r.string(True)}"
        if key != 0:
            continue
        try:
            req = parse_produce_request(version, r)
        except Exception as e:  # noqa: BLE001
            fail(f"{f['file']}: Produce v{version} does not decode: {e}")
            continue
        records, batches = [], []
        for topic, parts in req["topics"]:
            if topic != "captures":
                fail(f"{f['file']}: unexpected topic {topic!r}")
            for index, data in parts:
                if data is None:
                    fail(f"{f['file']}: null records for partition {index}")
                    continue
                try:
                    bs = decode_record_batches(data)
                except Exception as e:  # noqa: BLE001
                    fail(f"{f['file']}: records do not decode: {e}")
                    continue
                for b in bs:
                    if b["magic"] != 2:
                        fail(f"{f['file']}: magic {b['magic']}")
                    if not b["crc_ok"]:
                        fail(f"{f['file']}: CRC-32C mismatch")
                    if b["attributes"] & 7 != codec_id:
                        fail(f"{f['file']}: attributes {b['attributes']:#x}, codec bits != {codec_id}")
                    if b["record_count"] != b["last_offset_delta"] + 1:
                        fail(f"{f['file']}: record count {b['record_count']} vs last offset delta "
                             f"{b['last_offset_delta']}")
                batches += bs
                records += [rec for b in bs for rec in b["records"]]
        if len(records) != len(expected_records):
            fail(f"{f['file']}: {len(records)} records, expected {len(expected_records)}")
        for rec, exp in zip(records, expected_records):
            if rec["key"] != exp["key"].encode() or rec["value"] != exp["value"].encode():
                fail(f"{f['file']}: record {rec['key']!r}={rec['value']!r} != {exp['key']}={exp['value']}")
            if [(k, v.decode() if v is not None else None) for k, v in rec["headers"]] != \
                    [tuple(h) for h in exp["headers"]]:
                fail(f"{f['file']}: headers {rec['headers']} != {exp['headers']}")
            if cap.get("explicit_timestamps") and rec["timestamp"] != exp["timestamp"]:
                fail(f"{f['file']}: timestamp {rec['timestamp']} != {exp['timestamp']}")
        summary["produce"].append({
            "file": f["file"], "version": version, "acks": req["acks"], "txn": req["transactional_id"],
            "batches": len(batches), "records": len(records),
            "attributes": [b["attributes"] for b in batches], "framing": [b["framing"] for b in batches],
            "producer_id": [b["producer_id"] for b in batches], "crc_ok": all(b["crc_ok"] for b in batches),
        })
    for k in (18, 3, 0):
        if k not in seen:
            fail(f"no {api_name(k)} frame captured")
    return summary


def check(root: str) -> int:
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    expected = manifest["records"]
    problems = []
    rows = []
    for cap in manifest["captures"]:
        n_before = len(problems)
        s = check_capture(root, cap, expected, problems)
        version = cap.get("client_version") or "?"
        if cap.get("library_version"):
            version += f" ({cap.get('library') or 'lib'} {cap['library_version']})"
        prod = s["produce"]
        rows.append([
            cap["client"], version, cap["codec"], ", ".join(s["apis"]),
            "; ".join(f"acks={p['acks']} batches={p['batches']} records={p['records']} "
                      f"attrs={','.join(hex(a) for a in p['attributes'])}"
                      + (f" pid={','.join(map(str, p['producer_id']))}" if any(x != -1 for x in p['producer_id'])
                         else "")
                      + (f" {','.join(x for x in p['framing'] if x)}" if any(p['framing']) else "")
                      + (" crc=ok" if p["crc_ok"] else " crc=BAD") for p in prod) or "-",
            "ok" if len(problems) == n_before else "FAIL",
        ])
    headers = ["client", "version", "codec", "frames (in order)", "produce records", "check"]
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    # broker version guesses reported by the clients
    for cap in manifest["captures"]:
        det = cap.get("run", {}).get("broker_version_detected")
        if det and cap["codec"] == "none":
            print(f"{cap['client']}: broker version detected as {det}")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  - " + p)
        return 1
    print(f"\nall {len(rows)} captures ok")
    return 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else "Tests/EddyWireTests/Fixtures/captures"))
