"""The workspace control plane: serving endpoint list and details, Apps, the OAuth M2M token
endpoint (/oidc/v1/token) and SCIM Me."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from typing import Any

from aiohttp import web

from core.emulator.plumbing import HTTPError, Plumbing, _dumps, _now


def _jwt_like(subject: str) -> str:
    def b64(obj: Any) -> str:
        return base64.urlsafe_b64encode(_dumps(obj)).rstrip(b"=").decode("ascii")

    header = b64({"alg": "RS256", "typ": "JWT", "kid": "emulator"})
    payload = b64({"sub": subject, "iss": "emulator", "iat": _now(), "jti": secrets.token_hex(8)})
    return f"{header}.{payload}.{secrets.token_urlsafe(32)}"


class WorkspaceSurface(Plumbing):
    """Workspace APIs a client calls besides the model routes."""

    async def list_endpoints(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        _, early = await self._guard(request, None)
        if early is not None:
            return early
        return web.Response(
            body=_dumps({"endpoints": self._endpoints()}), content_type="application/json"
        )

    async def get_endpoint(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        _, early = await self._guard(request, None)
        if early is not None:
            return early
        name = request.match_info["name"]
        for ep in self._endpoints():
            if ep.get("name") == name:
                return web.Response(body=_dumps(ep), content_type="application/json")
        raise HTTPError(404, f"Serving endpoint with name {name!r} does not exist.")

    async def get_app(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        _, early = await self._guard(request, None)
        if early is not None:
            return early
        name = request.match_info["name"]
        if "missing" in name or "does-not-exist" in name:
            raise HTTPError(404, f"App with name {name} does not exist or is deleted.")
        host = self.state.base_url or f"http://{request.host}"
        return web.Response(
            body=_dumps(
                {
                    "name": name,
                    "url": f"{host}/apps-proxy/{name}",
                    "description": "Emulated Databricks App (ResponsesAgent)",
                    "app_status": {"state": "RUNNING", "message": "App is running"},
                    "compute_status": {"state": "ACTIVE", "message": "App compute is running."},
                    "service_principal_client_id": self.state.options.client_id,
                    "creator": "emulator@databricks.local",
                }
            ),
            content_type="application/json",
        )

    async def me(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        self._check_auth(request)
        user = "emulator-user@databricks.local"
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if token in self.state.oauth_tokens:
            user = self.state.options.client_id
        return web.Response(
            body=_dumps({"userName": user, "id": "1", "active": True}),
            content_type="application/json",
        )

    async def oidc_token(self, request: web.Request) -> web.StreamResponse:
        _, parsed = await self._record(request)
        fault = self._fault(request, None)
        if fault is not None:
            if fault.name == "slow":
                await asyncio.sleep(self.state.options.slow_seconds)
            else:
                early = self._fault_response(fault, None)
                if early is not None:
                    return early
        form = parsed if isinstance(parsed, dict) else {}
        opts = self.state.options
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
                cid, _, secret = decoded.partition(":")
            except Exception:
                cid, secret = None, None

        def oauth_error(status: int, error: str, desc: str) -> web.Response:
            return web.Response(
                body=_dumps({"error": error, "error_description": desc}),
                status=status,
                content_type="application/json",
            )

        if form.get("grant_type") != "client_credentials":
            return oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        if cid != opts.client_id or secret != opts.client_secret:
            return oauth_error(401, "invalid_client", "Client authentication failed")
        scope = str(form.get("scope") or "")
        if "all-apis" not in scope.split():
            return oauth_error(400, "invalid_scope", "scope must include all-apis")
        with self.state.lock:
            self.state.token_requests += 1
        token = _jwt_like(cid or "")
        self.state.oauth_tokens[token] = time.time() + opts.token_lifetime
        return web.Response(
            body=_dumps(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": int(opts.token_lifetime)
                    if opts.token_lifetime >= 1
                    else opts.token_lifetime,
                    "scope": "all-apis",
                }
            ),
            content_type="application/json",
        )
