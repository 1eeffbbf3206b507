"""The OAuth 2.0 client credentials flow of a Salesforce connected (or external client) app:
the connector's own identity, no user and no refresh token. The access token is cached until
the API answers 401 INVALID_SESSION_ID; then ApiClient asks for a fresh one, once.

https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
POST https://MyDomainName.my.salesforce.com/services/oauth2/token with
`grant_type=client_credentials&client_id=...&client_secret=...`; the answer carries
`access_token`, `instance_url`, `id`, `token_type` ("Bearer"), `issued_at` (milliseconds) and
`signature`: "Base64-encoded HMAC-SHA256 signature signed with the client_secret ... containing
the concatenated ID and issued_at value", which is checked here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from leadloop_connectors.http import AuthFailed, PermanentError, TransientError, policy_for
from leadloop_platform.outbound import OutboundError, OutboundPolicy, RefusedTarget, excerpt

TOKEN_PATH = "/services/oauth2/token"
# The OAuth errors that mean the app's credentials (or its flow settings) are wrong.
CREDENTIAL_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})


@dataclass(frozen=True)
class AccessToken:
    """A token as Salesforce issued it."""

    access_token: str
    instance_url: str
    identity_url: str
    issued_at: str


def token_signature(client_secret: str, identity_url: str, issued_at: str) -> str:
    """Salesforce's signature of a token answer: Base64(HMAC-SHA256(secret, id + issued_at))."""
    digest = hmac.new(
        client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


class ClientCredentials:
    """A TokenSource: the cached token, or a new one from the token endpoint when asked."""

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str,
        *,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.token_url = instance_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.policy = policy_for(self.token_url, policy)
        self.current: AccessToken | None = None
        self.issued = 0  # how many tokens this source obtained
        self._lock = asyncio.Lock()

    async def __call__(self, refresh: bool) -> str:
        """The bearer token; a new one when `refresh` (after a 401) or when none is cached."""
        async with self._lock:
            if refresh or self.current is None:
                self.current = await self.fetch()
                self.issued += 1
            return self.current.access_token

    async def fetch(self) -> AccessToken:
        """One token request. Raises AuthFailed on refused credentials."""
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        ).encode()
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        }
        try:
            async with self.policy.client() as client:
                reply = await self.policy.send(
                    client, "POST", self.token_url, content=form, headers=headers
                )
        except RefusedTarget as exc:
            raise PermanentError(0, f"refused target: {exc}") from exc
        except OutboundError as exc:
            raise TransientError(str(exc)) from exc
        status = reply.status_code
        try:
            body = json.loads(reply.body) if reply.body.strip() else {}
        except ValueError:
            body = {}
        if status == 200 and isinstance(body, dict):
            return self._checked(body)
        error = body.get("error", "") if isinstance(body, dict) else ""
        detail = f"token request: HTTP {status}: {excerpt(reply.body)}"
        if status in (401, 403) or error in CREDENTIAL_ERRORS:
            raise AuthFailed(detail)
        if 400 <= status < 500:
            raise PermanentError(status, detail)
        raise TransientError(detail)

    def _checked(self, body: dict[str, object]) -> AccessToken:
        fields = ("access_token", "instance_url", "id", "issued_at", "signature")
        values = {name: body.get(name) for name in fields}
        missing = [name for name, value in values.items() if not isinstance(value, str)]
        if missing:
            raise TransientError(f"token answer without {', '.join(missing)}")
        token = AccessToken(
            access_token=str(values["access_token"]),
            instance_url=str(values["instance_url"]),
            identity_url=str(values["id"]),
            issued_at=str(values["issued_at"]),
        )
        expected = token_signature(self.client_secret, token.identity_url, token.issued_at)
        if not hmac.compare_digest(expected, str(values["signature"])):
            raise AuthFailed("token answer signature does not match the client secret")
        return token
