"""langchain-tests ChatModelUnitTests for ChatDatabricks (no network: construction only)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_plugin import ChatDatabricks

HOST = "https://example.cloud.databricks.com"


class TestChatDatabricksUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatDatabricks]:
        return ChatDatabricks

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # Complete on its own (three tests build the model from these alone).
        return {"model": "databricks-claude-sonnet-4-5", "host": HOST, "token": "dapi-unit-test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DATABRICKS_HOST": HOST, "DATABRICKS_TOKEN": "dapi-from-env"},
            {"model": "databricks-claude-sonnet-4-5"},
            {"model": "databricks-claude-sonnet-4-5"},
        )

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "databricks-gpt-oss-120b"

    @pytest.mark.xfail(
        strict=True,
        raises=ValueError,
        reason=(
            "langchain-core 1.x load(allowed_objects='all') revives only classes listed in its "
            "own serialization mapping (langchain_core.load.mapping), which no third-party "
            "package is in; dumpd() itself matches the snapshot. The round trip with an explicit "
            "allow-list is covered by tests/test_langchain_chat_model.py::test_dumpd_load."
        ),
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)
