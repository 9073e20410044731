"""The OpenID Connect client of the review app (Authlib's Starlette client) for [web.oidc].

Authorization code flow with PKCE (S256), `state` and `nonce`. The ID token's signature (the
provider's published keys), issuer (exactly the configured one: for Entra the board's own tenant,
never `common`), audience, expiry and nonce are checked by Authlib against the values set here;
this module adds a verified e-mail and, for Google, the Workspace domain (`hd`). Who may sign in is
decided by the app's users table alone: the provider only proves the e-mail address.
"""
from __future__ import annotations

import warnings

from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from crawler.secrets import token
from schoolaudit.web.oidc import CLIENT_SECRET_ENV, OidcOptions, SignInRefused

with warnings.catch_warnings():
    # Authlib prefers httpx2 and warns on import when it finds httpx, which this project uses throughout
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError

try:  # Authlib talks to the provider through httpx2 when that is installed, else through httpx
    import httpx2 as http
except ImportError:
    import httpx as http

TOKEN_LEEWAY_SECONDS = 60  # clock difference tolerated on exp/iat


def _true(value) -> bool:
    """A boolean claim as providers send it: JSON true, or (older Google tokens) the string "true"."""
    return value is True or str(value).lower() == "true"


class OidcSignIn:
    """The configured provider, as an Authlib client that keeps its state, nonce and PKCE verifier in the
    (signed) session cookie for the few minutes of the round trip."""

    def __init__(self, options: OidcOptions):
        self.options = options
        extra = {"hd": options.domain} if options.domain else {}  # Google preselects the board's accounts
        self._client = OAuth().register(
            "board", client_id=options.client_id, client_secret=token(CLIENT_SECRET_ENV),
            server_metadata_url=options.metadata_url, authorize_params=extra,
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                           "timeout": 15, "trust_env": False})

    async def start(self, request: Request, redirect_uri: str) -> Response:
        """The redirect to the provider's sign-in page."""
        try:
            await self._check_metadata()
            return await self._client.authorize_redirect(request, redirect_uri)
        except (OAuthError, http.HTTPError, ValueError, KeyError) as exc:
            raise SignInRefused(f"the sign-in provider could not be reached ({type(exc).__name__})") from None

    async def finish(self, request: Request) -> str:
        """The verified e-mail address of the person the provider sent back; SignInRefused otherwise."""
        try:
            await self._check_metadata()
            answer = await self._client.authorize_access_token(
                request, leeway=TOKEN_LEEWAY_SECONDS,
                claims_options={"iss": {"essential": True, "value": self.options.issuer},
                                # Authlib alone checks only `azp` when `aud` names someone else
                                "aud": {"essential": True, "value": self.options.client_id}})
        except OAuthError as exc:
            raise SignInRefused(f"the provider's answer was refused: {exc.error or ''} {exc.description or ''}"
                                .strip()) from None
        except JoseError as exc:
            raise SignInRefused(f"the ID token was refused: {exc}") from None
        except (http.HTTPError, ValueError, KeyError) as exc:
            raise SignInRefused(f"the sign-in provider could not be reached ({type(exc).__name__})") from None
        claims = answer.get("userinfo")
        if not claims:  # no ID token, or none checked against our nonce
            raise SignInRefused("the provider sent no ID token")
        return self._email(claims)

    async def _check_metadata(self) -> None:
        metadata = await self._client.load_server_metadata()
        if metadata.get("issuer", "").rstrip("/") != self.options.issuer:
            raise SignInRefused(f"the provider's discovery document names issuer {metadata.get('issuer')!r}, "
                                f"not {self.options.issuer!r}")

    def _email(self, claims: dict) -> str:
        email = str(claims.get("email") or "").strip().lower()
        if not email:
            raise SignInRefused("the provider sent no e-mail address (Entra: add the optional claim `email`)")
        verified = claims.get("email_verified")
        # Entra never sends email_verified for work accounts; its `xms_edov` says the domain owner verified it.
        if not (_true(verified) or (verified is None and self.options.provider == "entra"
                                    and _true(claims.get("xms_edov")))):
            raise SignInRefused(f"the provider has not verified {email}", email)
        if self.options.domain and str(claims.get("hd") or "").lower() != self.options.domain:
            raise SignInRefused(f"{email} is not an account of the {self.options.domain} Workspace "
                                f"(hd: {claims.get('hd')!r})", email)
        return email
