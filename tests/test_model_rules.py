"""core.model_rules (pure) and the chat codec's rule-driven wire shapes."""

from __future__ import annotations

from core.codecs import chat
from core.model_rules import apply_model_rules
from core.registry import lookup_model
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

OPUS = lookup_model("databricks-claude-opus-4-7")
SONNET45 = lookup_model("databricks-claude-sonnet-4-5")
SONNET46 = lookup_model("databricks-claude-sonnet-4-6")
OSS = lookup_model("databricks-gpt-oss-120b")
GPT = lookup_model("databricks-gpt-5")
UNKNOWN = lookup_model("my-endpoint")
MSGS = [Message("user", [TextPart("x")])]


def test_unknown_models_are_untouched():
    p = GenerationParams(temperature=0.1, thinking_budget=5000)
    msgs = [Message("user", [TextPart("x", cache_control={"type": "ephemeral"})])]
    out_msgs, out, notes = apply_model_rules(msgs, p, UNKNOWN)
    assert out is p and out_msgs is msgs and notes == []


def test_rejected_params_dropped_with_notes():
    p = GenerationParams(temperature=0.1, top_p=0.5, top_k=3, max_tokens=10)
    _, out, notes = apply_model_rules(MSGS, p, OPUS)
    assert (out.temperature, out.top_p, out.top_k, out.max_tokens) == (None, None, None, 10)
    assert [n.key for n in notes] == ["temperature", "top_p", "top_k"]


def test_budget_on_adaptive_only_becomes_effort_and_kept_where_accepted():
    _, out, notes = apply_model_rules(MSGS, GenerationParams(thinking_budget=20000), OPUS)
    assert (out.thinking_budget, out.reasoning_effort) == (None, "high")
    assert notes[0].key == "thinking_budget"
    p = GenerationParams(thinking_budget=20000)
    assert apply_model_rules(MSGS, p, SONNET46)[1] is p  # 4.6 still takes budgets


def test_effort_on_budget_only_becomes_budget_but_none_stays():
    _, out, notes = apply_model_rules(MSGS, GenerationParams(reasoning_effort="medium"), SONNET45)
    assert (out.thinking_budget, out.reasoning_effort) == (8192, None)
    p = GenerationParams(reasoning_effort="none")
    assert apply_model_rules(MSGS, p, SONNET45)[1] is p
    p = GenerationParams(reasoning_effort="low")
    assert apply_model_rules(MSGS, p, SONNET46)[1] is p  # adaptive accepted


def test_cache_control_dropped_for_models_without_explicit_caching():
    msgs = [
        Message("system", [TextPart("a", cache_control={"type": "ephemeral"})]),
        Message(
            "user", [MediaPart("image", url="https://x/y.png", cache_control={"type": "ephemeral"})]
        ),
    ]
    out, _, notes = apply_model_rules(msgs, GenerationParams(), GPT)
    assert all(p.cache_control is None for m in out for p in m.parts)
    assert msgs[0].parts[0].cache_control == {"type": "ephemeral"}  # the caller's objects stay
    assert [n.key for n in notes] == ["cache_control"] and "2 content block" in notes[0].message
    assert apply_model_rules(msgs, GenerationParams(), SONNET45)[0] is msgs


def _body(messages, info, **kw):
    return chat.build_request(messages, GenerationParams(**kw), model="m", info=info, stream=False)


def test_adaptive_display_only_where_the_default_hides_the_text():
    assert _body(MSGS, OPUS, reasoning_effort="low")["thinking"] == {
        "type": "adaptive", "display": "summarized"}  # fmt: skip
    assert _body(MSGS, SONNET46, reasoning_effort="low")["thinking"] == {"type": "adaptive"}


def test_system_blocks_are_never_glued():
    system = Message("system", [TextPart("ctx1"), TextPart("ctx2")])
    assert _body([system, *MSGS], GPT)["messages"][0]["content"] == "ctx1\n\nctx2"
    assert _body([system, *MSGS], SONNET45)["messages"][0]["content"] == [
        {"type": "text", "text": "ctx1"}, {"type": "text", "text": "ctx2"}]  # fmt: skip


def _calls_history(text: str = "") -> list[Message]:
    return [
        Message("user", [TextPart("q")]),
        Message(
            "assistant",
            [
                *([TextPart(text)] if text else []),
                ToolCallPart("c1", "f", '{"a": 1}'),
                ToolCallPart("c2", "g", ""),
                ToolCallPart("c3", "h", "{}"),
            ],
        ),
        Message("tool", [ToolResultPart("c2", "two")]),
        Message("tool", [ToolResultPart("c1", "one")]),
        Message("tool", [ToolResultPart("c3", "three")]),
        Message("user", [TextPart("next")]),
    ]


def test_one_call_per_turn_in_call_order_ids_kept():
    msgs = _body(_calls_history("let me look"), OSS)["messages"]
    got = [
        (
            m["role"],
            m.get("content"),
            [c["id"] for c in m.get("tool_calls", [])],
            m.get("tool_call_id"),
        )
        for m in msgs
    ]
    assert got == [
        ("user", "q", [], None),
        ("assistant", "let me look", ["c1"], None),
        ("tool", "one", [], "c1"),
        ("assistant", None, ["c2"], None),
        ("tool", "two", [], "c2"),
        ("assistant", None, ["c3"], None),
        ("tool", "three", [], "c3"),
        ("user", "next", [], None),
    ]
    assert msgs[3]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_models_taking_several_calls_keep_the_turn():
    msgs = _body(_calls_history(), GPT)["messages"]
    assert [len(m.get("tool_calls", [])) for m in msgs] == [0, 3, 0, 0, 0, 0]
