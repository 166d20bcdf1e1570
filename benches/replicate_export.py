"""Replicates the vendor fixtures in data/adapters/ to a corpus of a given size, for
benches/adapters.sh. Every copy gets its own ids (ContactId / ticket id), so the copies are
different conversations and none is rejected as a repeat.

    python3 benches/replicate_export.py connect-chat OUT_DIR --mb 100
        one contact per .json file (as Connect writes them), in folders of 1,000 files
    python3 benches/replicate_export.py zendesk OUT_DIR --mb 100
        one ticket per JSONL line, in files of ~10 MB
"""
import argparse
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "data" / "adapters"


def connect(out: pathlib.Path, target: int) -> int:
    templates = [json.loads(p.read_text()) for p in sorted((ROOT / "connect-chat").rglob("*.json"))]
    written, i = 0, 0
    while written < target:
        t = templates[i % len(templates)]
        t = dict(t)
        cid = f"bench-{i:08d}"
        if "ContactId" in t:
            t["ContactId"] = t["InitialContactId"] = cid
        else:
            t["CustomerMetadata"] = dict(t["CustomerMetadata"], ContactId=cid)
        folder = out / f"{i // 1000:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(t, ensure_ascii=False).encode()
        (folder / f"{cid}.json").write_bytes(data)
        written += len(data)
        i += 1
    return i


def zendesk(out: pathlib.Path, target: int) -> int:
    templates = [json.loads(l) for l in (ROOT / "zendesk" / "tickets.jsonl").read_text().splitlines() if l.strip()]
    templates.append(json.loads((ROOT / "zendesk" / "ticket-35800.json").read_text()))
    out.mkdir(parents=True, exist_ok=True)
    written, i, part = 0, 0, None
    while written < target:
        if i % 20000 == 0:
            if part:
                part.close()
            part = open(out / f"tickets-{i // 20000:04d}.jsonl", "wb")
        t = json.loads(json.dumps(templates[i % len(templates)]))
        t["ticket"]["id"] = 10_000_000 + i
        line = (json.dumps(t, ensure_ascii=False) + "\n").encode()
        part.write(line)
        written += len(line)
        i += 1
    part.close()
    return i


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("format", choices=["connect-chat", "zendesk"])
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--mb", type=float, default=100.0)
    a = ap.parse_args()
    n = (connect if a.format == "connect-chat" else zendesk)(a.out, int(a.mb * 1e6))
    print(n)


if __name__ == "__main__":
    main()
