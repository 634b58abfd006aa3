"""core.jsonio: the fast path gives json.loads' values and errors, for response bodies and
stream events alike; encoding refuses what is not JSON before anything is sent."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import jsonio
from core.connection import encode_json
from core.errors import InvalidRequestError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


loads = jsonio.loads


def _same(a, b) -> bool:
    # compared as JSON text: NaN (which json.loads accepts) is not equal to itself
    return json.dumps(a) == json.dumps(b)


@settings(max_examples=300, deadline=None)
@given(data=st.text(max_size=30) | json_values.map(json.dumps))
def test_loads_agrees_with_json_loads_on_any_text(data):
    try:
        expected = json.loads(data)
    except ValueError:
        with pytest.raises(ValueError):
            loads(data)
    else:
        assert _same(loads(data), expected)
        assert _same(loads(data.encode("utf-8")), expected)


@pytest.mark.parametrize(
    "text",
    [
        '{"x": NaN}',  # json.loads takes these: so do we
        '{"big": 123456789012345678901234567890}',
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        " [1, 2] \n",
        '{"usage": {"prompt_tokens": 12.0}}',
    ],
)
def test_edge_cases_decode_as_json_loads_does(text):
    assert _same(loads(text), json.loads(text))
    assert _same(loads(text.encode("utf-8")), json.loads(text))


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "0\x1f", "\ufeff{}", "nul"])
def test_invalid_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        loads(text)


def test_dumps_is_compact_utf8_and_keeps_non_ascii():
    assert jsonio.dumps({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_number_is_refused_before_sending(bad):
    with pytest.raises(InvalidRequestError, match="not JSON-serializable"):
        encode_json({"temperature": bad})


def test_an_object_that_is_not_json_is_refused_before_sending():
    with pytest.raises(InvalidRequestError, match="not JSON-serializable"):
        encode_json({"x": object()})
