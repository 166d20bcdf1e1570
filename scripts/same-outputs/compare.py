#!/usr/bin/env python3
"""Compares two case trees byte for byte. Run ids (UTC start time, e.g. 20261207T204343411Z) in
paths and contents are replaced by RUN<k> (k: rank in that tree); .convqa.lock (the holder's pid
and time) is skipped; summary.json and _runs/*.json are compared as JSON without the fields that
carry time: started_at, finished_at, stage_seconds (and incremental.run_id, normalized)."""
import json, os, re, sys
RUN = re.compile(rb"\d{8}T\d{6}\d{3}Z")
TIME_FIELDS = ("started_at", "finished_at", "stage_seconds")

def tree(root):
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(d, f)
            files[os.path.relpath(p, root)] = p
    ids = sorted({m for rel in files for m in RUN.findall(rel.encode())})
    for p in files.values():
        ids += [m for m in RUN.findall(open(p, "rb").read()) if m not in ids]
    ids = sorted(set(ids))
    norm = lambda b: RUN.sub(lambda m: b"RUN%d" % ids.index(m.group(0)), b)
    return {norm(rel.encode()).decode(): p for rel, p in files.items()}, norm

def main(a, b):
    ta, na = tree(a); tb, nb = tree(b)
    bad = 0; same = 0; json_cmp = 0
    for rel in sorted(set(ta) | set(tb)):
        if rel.endswith(".convqa.lock"):
            continue
        if rel not in ta or rel not in tb:
            print("ONLY IN", "before" if rel in ta else "after", rel); bad += 1; continue
        x, y = na(open(ta[rel], "rb").read()), nb(open(tb[rel], "rb").read())
        if os.path.basename(rel) == "summary.json" or "/_runs/" in "/" + rel:
            jx, jy = json.loads(x), json.loads(y)
            for j in (jx, jy):
                for k in TIME_FIELDS:
                    j.pop(k, None)
            json_cmp += 1
            if jx != jy:
                print("JSON DIFFERS", rel); bad += 1
            else:
                same += 1
            continue
        if x != y:
            print("DIFFERS", rel); bad += 1
        else:
            same += 1
    print(f"{same} files identical ({json_cmp} of them JSON compared without {', '.join(TIME_FIELDS)}), {bad} different")
    return bad

sys.exit(1 if main(sys.argv[1], sys.argv[2]) else 0)
