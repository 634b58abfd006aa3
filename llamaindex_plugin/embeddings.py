"""``DatabricksEmbedding``: a LlamaIndex ``BaseEmbedding`` over the core embeddings client.

Only translation lives here; batching, concurrency, routing, auth and the wire format are in
:mod:`core.embeddings`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr, SecretStr
from llama_index.core.callbacks.base import CallbackManager

if TYPE_CHECKING:  # pragma: no cover
    from core.embeddings import DatabricksEmbeddingsClient, EmbeddingUsage

# LlamaIndex hands ``embed_batch_size`` texts to one ``_get_text_embeddings`` call; the core
# client splits them into requests within the model's limits and sends those concurrently, so a
# large hand-over keeps more requests in flight (BaseEmbedding allows up to 2048).
DEFAULT_EMBED_BATCH_SIZE = 1000


class DatabricksEmbedding(BaseEmbedding):
    """Databricks-hosted embedding models for LlamaIndex (``Settings.embed_model``).

    Example:
        ```python
        from llama_index.core import Settings
        from llamaindex_plugin import DatabricksEmbedding

        Settings.embed_model = DatabricksEmbedding(model="databricks-gte-large-en")
        ```

    Credentials follow Databricks unified auth. Also accepts
    ``llama-index-embeddings-databricks``' arguments: ``model``, ``endpoint`` (the
    ``https://<host>/serving-endpoints`` URL, or ``DATABRICKS_SERVING_ENDPOINT``), ``api_key``,
    ``additional_kwargs`` (extra request fields), ``max_retries``, ``timeout``,
    ``default_headers``, ``embed_batch_size``, ``num_workers``, and ``http_client`` /
    ``async_http_client`` (your own ``httpx.Client`` / ``httpx.AsyncClient``: requests go
    through them as they are). ``reuse_client=False`` cannot be honoured (connections are pooled
    and reused per event loop): it warns.
    """

    model: str = Field(description="Embedding endpoint name or Unity Catalog name.")
    host: str | None = None
    base_url: str | None = None
    endpoint_kind: str | None = None
    profile: str | None = None
    config_file: str | None = None
    client_id: str | None = None
    timeout: float = 120.0
    max_retries: int = 3
    batch_size: int | None = Field(
        default=None, description="Inputs per request (default: the model's registry limit)."
    )
    max_concurrency: int | None = Field(
        default=None, description="Requests in flight at most (default: up to 16 per call)."
    )
    adaptive_concurrency: bool = Field(
        default=True, description="Attempts go through the endpoint's shared adaptive limiter."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request fields (e.g. instruction, dimensions)."
    )

    _client: Any = PrivateAttr(default=None)
    _last_usage: Any = PrivateAttr(default=None)

    def __init__(
        self,
        model: str | None = None,
        endpoint: str | None = None,
        *,
        api_key: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        host: str | None = None,
        base_url: str | None = None,
        endpoint_kind: str | None = None,
        profile: str | None = None,
        config_file: str | None = None,
        client_id: str | None = None,
        client_secret: str | SecretStr | None = None,
        token_provider: Any = None,
        workspace_client: Any = None,
        embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
        batch_size: int | None = None,
        max_concurrency: int | None = None,
        adaptive_concurrency: bool = True,
        additional_kwargs: dict[str, Any] | None = None,
        max_retries: int = 3,
        timeout: float = 120.0,
        default_headers: dict[str, str] | None = None,
        callback_manager: CallbackManager | None = None,
        num_workers: int | None = None,
        transport: Literal["auto", "httpx", "aiohttp"] = "auto",
        proxy: str | SecretStr | None = None,
        verify: Any = True,
        reuse_client: bool = True,
        http_client: Any = None,
        async_http_client: Any = None,
        **kwargs: Any,
    ) -> None:
        # Raw secrets become SecretStr at once (frame locals show up in traceback summaries).
        token = SecretStr(token) if isinstance(token, str) else token
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        if isinstance(client_secret, str):
            client_secret = SecretStr(client_secret)
        proxy = SecretStr(proxy) if isinstance(proxy, str) else proxy
        from core.compat import model_from, settings_from_aliases
        from core.params import header_map, sort_unknown_kwargs

        # llama-index-embeddings-databricks' ``endpoint`` is the serving-endpoints URL; a bare
        # name there (no scheme) can only mean the model.
        api_base = endpoint if endpoint and "://" in endpoint else None
        model = model_from(
            ("model", model),
            ("model_name", kwargs.pop("model_name", None)),
            ("endpoint", endpoint if api_base is None else None),
        )
        if not model:
            raise ValueError(
                "DatabricksEmbedding(model=...) is required: an embedding endpoint name such as "
                "'databricks-gte-large-en' or a Unity Catalog name ('system.ai.gte-large-en')"
            )
        if token is not None and api_key is not None:
            raise ValueError("pass either token or api_key (an alias of token), not both")
        if not reuse_client:
            warnings.warn(
                "reuse_client=False is ignored: connections are pooled and reused per event "
                "loop, which is what large volumes of async calls need",
                UserWarning,
                stacklevel=2,
            )
        known = set(type(self).model_fields) | {"endpoint", "api_key", "token", "client_secret"}
        params = {
            **sort_unknown_kwargs(
                kwargs, known, owner="DatabricksEmbedding", into="additional_kwargs"
            ),
            **(additional_kwargs or {}),
        }
        routing = settings_from_aliases(
            host=host,
            base_url=base_url,
            endpoint_kind=endpoint_kind,
            profile=profile,
            workspace_client=workspace_client,
            api_base=api_base,
        )
        super().__init__(
            model=model,
            model_name=model,
            host=routing.get("host"),
            base_url=routing.get("base_url"),
            endpoint_kind=routing.get("endpoint_kind"),
            profile=routing.get("profile"),
            config_file=config_file,
            client_id=client_id,
            timeout=timeout,
            max_retries=max_retries,
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            adaptive_concurrency=adaptive_concurrency,
            additional_kwargs=params,
            embed_batch_size=embed_batch_size,
            callback_manager=callback_manager,
            num_workers=num_workers,
        )
        from core.embeddings import DatabricksEmbeddingsClient

        settings: dict[str, Any] = {
            key: value
            for key, value in {
                **routing,
                "config_file": config_file,
                "client_id": client_id,
                "client_secret": client_secret,
                "token": token if token is not None else api_key,
                "token_provider": token_provider,
                "workspace_client": workspace_client,
                "extra_headers": header_map(default_headers, "default_headers"),
                "proxy": proxy,
                "http_client": http_client,
                "http_async_client": async_http_client,
            }.items()
            if value is not None
        }
        self._client = DatabricksEmbeddingsClient(
            model=model,
            adapter="llamaindex",
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            verify=verify,
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            adaptive_concurrency=adaptive_concurrency,
            params=params,
            **settings,
        )

    @classmethod
    def class_name(cls) -> str:
        return "DatabricksEmbedding"

    @property
    def client(self) -> DatabricksEmbeddingsClient:
        """The core client (its ``max_concurrency`` may be changed at any time)."""
        client: DatabricksEmbeddingsClient = self._client
        return client

    @property
    def last_usage(self) -> EmbeddingUsage | None:
        """Token usage of the last request batch, when the endpoint reported it."""
        usage: EmbeddingUsage | None = self._last_usage
        return usage

    def _vectors(self, result: Any) -> list[list[float]]:
        self._last_usage = result.usage
        vectors: list[list[float]] = result.vectors
        return vectors

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vectors(self._client.embed([query]))[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vectors(await self._client.aembed([query]))[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vectors(self._client.embed([text]))[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._vectors(await self._client.aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._vectors(self._client.embed(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._vectors(await self._client.aembed(texts))

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        await self._client.aclose()
