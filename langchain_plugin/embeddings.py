"""``DatabricksEmbeddings``: a LangChain ``Embeddings`` over the core embeddings client.

Only translation lives here; batching, concurrency, routing, auth and the wire format are in
:mod:`core.embeddings`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from core.endpoints import is_uc_name
from core.params import header_map, sort_unknown_kwargs

# Settings handed to the core client as they are (None means "let the core decide").
_CLIENT_FIELDS = (
    "client_id",
    "config_file",
    "auth_type",
    "token_provider",
    "workspace_client",
    "timeout",
    "max_retries",
    "adaptive_concurrency",
    "token",
    "client_secret",
)

if TYPE_CHECKING:  # pragma: no cover
    from core.embeddings import DatabricksEmbeddingsClient, EmbeddingUsage


class DatabricksEmbeddings(BaseModel, Embeddings):
    """Databricks-hosted embedding models (``databricks-gte-large-en``, ``system.ai.*``,
    external-model endpoints).

    Example:
        ```python
        from langchain_plugin import DatabricksEmbeddings

        embeddings = DatabricksEmbeddings(model="databricks-gte-large-en")
        vectors = embeddings.embed_documents(["first text", "second text"])
        ```

    Also accepts ``databricks_langchain.DatabricksEmbeddings``' arguments: ``endpoint`` (alias
    of ``model``; then requests go to ``/serving-endpoints/{endpoint}/invocations`` as they did
    there, unless ``endpoint_kind`` says otherwise), ``query_params``, ``documents_params``,
    ``target_uri`` and ``workspace_client``.

    Differences from ``databricks_langchain.DatabricksEmbeddings`` (on purpose): batches follow
    the model's limits (``batch_size``, default from the registry) and run ``max_concurrency``
    at a time, sync and async (``aembed_*`` do not block the event loop); bad input (a non-string,
    an input surely over the model's token limit) raises
    :class:`core.errors.InvalidRequestError` naming the item before anything is sent; the token
    usage of the last call is in :attr:`last_usage`.
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=()
    )

    model: str = Field(alias="endpoint")
    """Embedding endpoint name or Unity Catalog name (``system.ai.gte-large-en``)."""
    host: str | None = None
    token: SecretStr | None = Field(default=None, alias="api_key")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    databricks_profile: str | None = None
    """The ``~/.databrickscfg`` profile; also accepted as ``profile="NAME"``."""
    config_file: str | None = None
    auth_type: str | None = None
    token_provider: Callable[[], str] | None = Field(default=None, exclude=True)
    workspace_client: Any = Field(default=None, exclude=True)
    base_url: str | None = None
    endpoint_kind: str | None = None
    """``"serving"`` (``/serving-endpoints/embeddings``), ``"gateway"``, ``"invocations"`` or
    ``"openai"``; default: gateway for UC names, else serving (invocations with ``endpoint=``)."""
    use_ai_gateway: bool | None = None
    """``True``: Unity AI Gateway (``/ai-gateway/mlflow/v1/embeddings``); ``False``: serving."""
    default_headers: dict[str, Any] | None = Field(default=None, repr=False)
    """HTTP headers sent with every request."""
    target_uri: str | None = None
    """databricks-langchain compatibility: ``"databricks"``, ``"databricks://<profile>"`` or a
    workspace URL."""
    query_params: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields for ``embed_query`` (e.g. a BGE ``instruction``)."""
    documents_params: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields for ``embed_documents``."""
    batch_size: int | None = None
    """Inputs per request (default: the model's limit from the registry)."""
    max_concurrency: int | None = None
    """Requests in flight at most (default: up to 16 per call, as many as the endpoint's shared
    adaptive limiter lets through)."""
    adaptive_concurrency: bool | None = None
    """``False`` turns the endpoint's shared adaptive limiter (:mod:`core.limiter`) off."""
    timeout: float | None = None
    max_retries: int | None = None

    _client: DatabricksEmbeddingsClient = PrivateAttr()
    _last_usage: EmbeddingUsage | None = PrivateAttr(default=None)

    def __init__(self, **kwargs: Any) -> None:
        if isinstance(kwargs.get("profile"), str):
            kwargs["databricks_profile"] = kwargs.pop("profile")
        for key in ("token", "api_key", "client_secret"):  # keep raw secrets out of frame locals
            if isinstance(kwargs.get(key), str):
                kwargs[key] = SecretStr(kwargs[key])
        compat_endpoint = "endpoint" in kwargs and "model" not in kwargs
        known = set(type(self).model_fields) | {"endpoint", "api_key"}
        extra = sort_unknown_kwargs(
            {k: kwargs.pop(k) for k in list(kwargs) if k not in known},
            known,
            owner="DatabricksEmbeddings",
            into="query_params and documents_params",
        )
        if extra:
            for key in ("query_params", "documents_params"):
                kwargs[key] = {**extra, **(kwargs.get(key) or {})}
        super().__init__(**kwargs)
        from core.compat import settings_from_aliases
        from core.embeddings import DatabricksEmbeddingsClient

        kw: dict[str, Any] = settings_from_aliases(
            host=self.host,
            base_url=self.base_url,
            endpoint_kind=self.endpoint_kind,
            profile=self.databricks_profile,
            workspace_client=self.workspace_client,
            target_uri=self.target_uri,
            use_ai_gateway=self.use_ai_gateway,
            target_uri_deprecated=False,
        )
        if (
            compat_endpoint
            and not {"endpoint_kind", "base_url"} & set(kw)
            and not is_uc_name(self.model)
        ):
            kw["endpoint_kind"] = "invocations"  # the path databricks-langchain (MLflow) used
        for name in _CLIENT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                kw[name] = value
        if self.default_headers:
            kw["extra_headers"] = header_map(self.default_headers, "default_headers")
        self._client = DatabricksEmbeddingsClient(
            model=self.model,
            adapter="langchain",
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            **kw,
        )

    @property
    def client(self) -> DatabricksEmbeddingsClient:
        """The core client (its ``max_concurrency`` may be changed at any time)."""
        return self._client

    @property
    def last_usage(self) -> EmbeddingUsage | None:
        """Token usage of the last call, when the endpoint reported it."""
        return self._last_usage

    def _vectors(self, result: Any) -> list[list[float]]:
        self._last_usage = result.usage
        vectors: list[list[float]] = result.vectors
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._vectors(self._client.embed(texts, params=self.documents_params))

    def embed_query(self, text: str) -> list[float]:
        return self._vectors(self._client.embed([text], params=self.query_params))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._vectors(await self._client.aembed(texts, params=self.documents_params))

    async def aembed_query(self, text: str) -> list[float]:
        return self._vectors(await self._client.aembed([text], params=self.query_params))[0]

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        await self._client.aclose()
