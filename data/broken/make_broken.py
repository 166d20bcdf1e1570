#!/usr/bin/env python3
"""Regenerate data/broken/broken.jsonl byte-for-byte.

The file holds deliberately broken input lines for the reader tests (all data
synthetic, written for this project). It is generated rather than edited by
hand because it must contain bytes an editor would "fix": a UTF-8 BOM on line
1, a CRLF line ending, and invalid UTF-8 (0xFF 0xFE) inside a JSON string.

Usage:  python3 data/broken/make_broken.py [OUTPUT]
        (default OUTPUT: broken.jsonl next to this script)

The line-by-line meaning is documented in data/README.md; keep that table in
step with LINES below.
"""
import json
import sys
from pathlib import Path

BOM = b"\xef\xbb\xbf"
BAD_UTF8 = b"\xff\xfe"
PLACEHOLDER = "@@BAD_UTF8@@"


def dump(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok_1() -> dict:
    return {
        "conversation_id": "broken-ok-1", "agent_id": "agent_wang", "channel": "chat",
        "language": "zh-Hans", "resolved": True, "csat": 5,
        "turns": [
            {"speaker": "customer", "text": "你好，我想改一下收货地址", "ts": "2026-11-03T10:00:00+08:00"},
            {"speaker": "agent", "text": "您好，可以的，请把新地址发给我。", "ts": "2026-11-03T10:00:40+08:00"},
        ],
    }


def ok_2() -> dict:
    return {
        "conversation_id": "broken-ok-2", "agent_id": "agent_sarah", "channel": "chat",
        "language": "en",
        "turns": [
            {"speaker": "customer", "text": "Hi, where can I download my invoice?", "ts": "2026-11-04T15:00:00Z"},
            {"speaker": "agent", "text": "Hello! Go to Account > Billing > Invoices.", "ts": "2026-11-04T15:01:00Z"},
        ],
    }


def ok_3() -> dict:
    return {
        "conversation_id": "broken-ok-3", "agent_id": "agent_chen", "channel": "email",
        "customer_id": "tw_cust_99001", "language": "zh-Hant", "tags": ["refund"],
        "turns": [
            {"speaker": "customer", "text": "您好，想確認退款是否已經處理。", "ts": "2026-11-05T09:00:00+08:00"},
            {"speaker": "agent", "text": "您好，退款已於今日處理完成。", "ts": "2026-11-05T11:30:00+08:00"},
        ],
    }


def base(cid: str, **over) -> dict:
    """A valid conversation that the caller then breaks in exactly one way."""
    c = {
        "conversation_id": cid, "agent_id": "agent_tom", "channel": "chat",
        "turns": [
            {"speaker": "customer", "text": "my order hasn't shipped yet", "ts": "2026-11-06T12:00:00Z"},
            {"speaker": "agent", "text": "It ships tomorrow.", "ts": "2026-11-06T12:01:00Z"},
        ],
    }
    c.update(over)
    return c


def lines() -> list[bytes]:
    out: list[bytes] = []
    # 1: valid, preceded by a UTF-8 BOM (readers must strip it)
    out.append(BOM + dump(ok_1()))
    # 2: invalid JSON, object cut off in the middle of a string
    d = dump(base("broken-truncated"))
    out.append(d[: d.index(b"hasn't") + 3])
    # 3: a JSON array (holding a valid conversation) instead of an object
    out.append(dump([base("broken-array")]))
    # 4: conversation_id missing
    c = base("x")
    del c["conversation_id"]
    out.append(dump(c))
    # 5: blank line
    out.append(b"")
    # 6: agent_id missing
    c = base("broken-no-agent")
    del c["agent_id"]
    out.append(dump(c))
    # 7: valid, CRLF line ending
    out.append(dump(ok_2()) + b"\r")
    # 8: channel not in chat|email|phone
    out.append(dump(base("broken-fax", channel="fax")))
    # 9: turns is an empty list
    out.append(dump(base("broken-empty-turns", turns=[])))
    # 10: a turn whose ts is not RFC 3339
    c = base("broken-bad-ts")
    c["turns"][1]["ts"] = "yesterday"
    out.append(dump(c))
    # 11: a turn with speaker "bot"
    c = base("broken-bot-speaker")
    c["turns"][1]["speaker"] = "bot"
    out.append(dump(c))
    # 12: a turn without text
    c = base("broken-no-text")
    del c["turns"][0]["text"]
    out.append(dump(c))
    # 13: csat out of range (must be 1..5)
    out.append(dump(base("broken-csat-9", csat=9)))
    # 14: invalid UTF-8 bytes inside a JSON string
    c = base("broken-bad-utf8")
    c["turns"][0]["text"] = "caf" + PLACEHOLDER + " order 4411 missing"
    out.append(dump(c).replace(PLACEHOLDER.encode(), BAD_UTF8))
    # 15: valid
    out.append(dump(ok_3()))
    # 16: duplicate of line 7's conversation_id, otherwise valid
    c = ok_2()
    c["turns"][0]["text"] = "Hi again, the invoice link is broken."
    out.append(dump(c))
    return out


def build() -> bytes:
    return b"\n".join(lines()) + b"\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "broken.jsonl"
    data = build()
    target.write_bytes(data)
    n = data.count(b"\n")
    print(f"wrote {target} ({len(data)} bytes, {n} lines)")


if __name__ == "__main__":
    main()
