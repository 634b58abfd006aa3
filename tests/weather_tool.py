"""The weather tool the Responses, Open Responses and Gemini end-to-end tests share, in the form
each framework takes: a LangChain ``@tool`` and a plain function for LlamaIndex ``FunctionTool``."""

from __future__ import annotations

from langchain_core.tools import tool


def li_get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"18C and sunny in {city}"


get_weather = tool("get_weather")(li_get_weather)  # named as the tests expect on the wire
