"""core.transport.errors: the request id and the refused parameter read from error answers."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.auth.base import AuthProvider
from core.errors import BadRequestError, NotFoundError
from core.transport import HttpTransport
from core.transport.errors import error_from_response, param_from, request_id_from_details

HOST = "https://ws.cloud.databricks.com"
URL = f"{HOST}/serving-endpoints/chat/completions"
# A Databricks error body whose request id is only in details (google.rpc RequestInfo).
DETAILS_BODY = {
    "error_code": "BAD_REQUEST",
    "message": "BAD_REQUEST: Model databricks-claude-opus-4-7 does not support the temperature "
    "parameter.",
    "details": [
        {
            "@type": "type.googleapis.com/google.rpc.RequestInfo",
            "request_id": "req-in-body",
            "serving_data": "",
        },
    ],
}


class Token(AuthProvider):
    method = "pat"

    def header(self) -> str:
        return "Bearer t"


def test_request_id_from_details_when_no_header() -> None:
    err = error_from_response(400, {}, httpx.Response(400, json=DETAILS_BODY).content)
    assert err.request_id == "req-in-body"
    # a header wins over the body
    err = error_from_response(
        400, {"x-request-id": "from-header"}, httpx.Response(400, json=DETAILS_BODY).content
    )
    assert err.request_id == "from-header"
    assert request_id_from_details([{"@type": "x"}, {"request_id": "r"}]) == "r"
    assert request_id_from_details({"request_id": "r"}) is None  # not the documented shape
    assert request_id_from_details([{"request_id": ""}]) is None


@pytest.mark.parametrize(
    ("message", "details", "param"),
    [
        ("BAD_REQUEST: Model m does not support the temperature parameter.", None, "temperature"),
        ("Unsupported parameter: 'top_p' is not supported with this model.", None, "top_p"),
        ("Unknown parameter: 'reasoning.summary'.", None, "reasoning.summary"),
        ("'strict' is not supported in tool schemas for this model.", None, "strict"),
        ("Parameter 'seed' is not supported by this endpoint.", None, "seed"),
        ("Invalid value for 'tool_choice': expected one of ...", None, "tool_choice"),
        ("Some other failure.", "max_tokens", "max_tokens"),  # OpenAI's error.param
        ("Multiple tool calls are not supported.\n", None, None),
        ("Some other failure.", None, None),
    ],
)
def test_param_from_message(message: str, details: object, param: str | None) -> None:
    assert param_from(message, details) == param


def test_bad_request_error_carries_param_and_hint() -> None:
    err = error_from_response(400, {}, httpx.Response(400, json=DETAILS_BODY).content)
    assert isinstance(err, BadRequestError)
    assert err.param == "temperature"
    assert err.hint is not None and "'temperature'" in err.hint
    assert "Hint:" in str(err) and "req-in-body" in str(err)
    openai_style = {"error": {"message": "bad", "type": "invalid_request_error", "param": "n"}}
    err = error_from_response(400, {}, httpx.Response(400, json=openai_style).content)
    assert isinstance(err, BadRequestError) and err.param == "n"
    plain = error_from_response(400, {}, b'{"error_code": "BAD_REQUEST", "message": "nope"}')
    assert isinstance(plain, BadRequestError) and plain.param is None and plain.hint is None
    other = error_from_response(404, {}, httpx.Response(404, json=DETAILS_BODY).content)
    assert isinstance(other, NotFoundError) and other.request_id == "req-in-body"


@respx.mock
async def test_through_the_transport_sync_and_async() -> None:
    respx.post(URL).mock(return_value=httpx.Response(400, json=DETAILS_BODY))
    t = HttpTransport(auth=Token(), kind="httpx", max_retries=0)
    t.allow_url(HOST)
    with pytest.raises(BadRequestError) as info:
        t.request_json("POST", URL, content=b"{}")
    assert (info.value.param, info.value.request_id) == ("temperature", "req-in-body")
    with pytest.raises(BadRequestError) as info:
        await t.arequest_json("POST", URL, content=b"{}")
    assert (info.value.param, info.value.request_id) == ("temperature", "req-in-body")
    t.close()
    await t.aclose()
