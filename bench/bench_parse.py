"""How much does decoding a chat completions stream cost compared with json.loads alone?

Builds a realistic 200-chunk stream (reasoning pieces + signature, text pieces, a tool call in
argument pieces, usage on a ``choices: []`` chunk, ``[DONE]``) and times

- baseline: ``json.loads`` of every event's data;
- decoder: ``StreamDecoder.feed`` of every event + ``close()`` (it json-decodes internally,
  calling json's C scanner directly rather than through json.loads);
- decoder + accumulator: the above plus ``StreamAccumulator.add`` of every delta + response().

Rounds are interleaved and timed in process CPU time; the medians are printed. Prints the ratios; the target (issue 3) is decoder / json.loads < 2.

    .venv/bin/python bench/bench_parse.py [--chunks 200] [--repeat 50] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.accumulator import StreamAccumulator
from core.codecs.chat import StreamDecoder


def make_stream(n_chunks: int = 200) -> list[str]:
    head = {
        "id": "chatcmpl-0123456789abcdef",
        "object": "chat.completion.chunk",
        "created": 1763700000,
        "model": "databricks-claude-sonnet-4-5",
    }
    events: list[dict] = []
    n_reason = n_chunks // 4
    n_tool = n_chunks // 8
    n_text = n_chunks - n_reason - n_tool - 3
    for i in range(n_reason):
        events.append(
            {
                **head,
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "role": "assistant",
                            "content": [
                                {
                                    "type": "reasoning",
                                    "summary": [
                                        {
                                            "type": "summary_text",
                                            "text": f"thinking step {i} about it ",
                                            "signature": "",
                                        }
                                    ],
                                }
                            ],
                        },
                        "finish_reason": None,
                    }
                ],
            }
        )
    events.append(
        {
            **head,
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "content": [
                            {
                                "type": "reasoning",
                                "summary": [
                                    {
                                        "type": "summary_text",
                                        "text": "",
                                        "signature": "EqoBCkgIBxABGAIiQ" * 8,
                                    }
                                ],
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ],
        }
    )
    for i in range(n_text):
        events.append(
            {
                **head,
                "choices": [
                    {"index": 0, "delta": {"content": f"word{i} and "}, "finish_reason": None}
                ],
            }
        )
    for i in range(n_tool):
        tc: dict = {"index": 0, "function": {"arguments": f'"k{i}": {i}, '}}
        if i == 0:
            tc = {
                "index": 0,
                "id": "call_abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{"},
            }
        events.append(
            {
                **head,
                "choices": [{"index": 0, "delta": {"tool_calls": [tc]}, "finish_reason": None}],
            }
        )
    events.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    events.append(
        {
            **head,
            "choices": [],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 200,
                "total_tokens": 320,
                "completion_tokens_details": {"reasoning_tokens": 50},
            },
        }
    )
    data = [json.dumps(e, separators=(",", ":")) for e in events]
    data.append("[DONE]")
    return data


def run_json(events: list[str]) -> None:
    loads = json.loads
    for e in events:
        if e != "[DONE]":
            loads(e)


def run_decoder(events: list[str]) -> None:
    dec = StreamDecoder()
    feed = dec.feed
    for e in events:
        feed(e)
    dec.close()


def run_full(events: list[str]) -> None:
    dec = StreamDecoder()
    acc = StreamAccumulator()
    add = acc.add
    feed = dec.feed
    for e in events:
        for d in feed(e):
            add(d)
    for d in dec.close():
        add(d)
    acc.response()


def _time(fn, events: list[str], repeat: int) -> float:
    # CPU time of this process: other work on a busy machine does not count against us.
    t0 = time.process_time()
    for _ in range(repeat):
        fn(events)
    return (time.process_time() - t0) / repeat


def measure(n_chunks: int = 200, repeat: int = 50, rounds: int = 15) -> dict[str, float]:
    """Interleaved rounds (json, decoder, full back to back); medians of per-round figures."""
    events = make_stream(n_chunks)
    for fn in (run_json, run_decoder, run_full):  # warm up
        fn(events)
    base, dec, full, r_dec, r_full = [], [], [], [], []
    for _ in range(rounds):
        b = _time(run_json, events, repeat)
        d = _time(run_decoder, events, repeat)
        f = _time(run_full, events, repeat)
        base.append(b)
        dec.append(d)
        full.append(f)
        r_dec.append(d / b)
        r_full.append(f / b)
    med = statistics.median
    return {
        "events": len(events),
        "json_loads_us": med(base) * 1e6,
        "decoder_us": med(dec) * 1e6,
        "full_us": med(full) * 1e6,
        "decoder_ratio": med(r_dec),
        "full_ratio": med(r_full),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    r = measure(args.chunks, args.repeat, args.rounds)
    print(f"events: {r['events']}")
    print(f"json.loads only:          {r['json_loads_us']:9.1f} us per stream")
    print(f"StreamDecoder:            {r['decoder_us']:9.1f} us per stream")
    print(f"StreamDecoder+Accumulator:{r['full_us']:9.1f} us per stream")
    print(f"ratio decoder / json.loads: {r['decoder_ratio']:.2f}  (target < 2)")
    print(f"ratio decoder+accumulator / json.loads: {r['full_ratio']:.2f}")


if __name__ == "__main__":
    main()
