"""Signing in with the board's Microsoft Entra or Google Workspace (OpenID Connect, Authlib's Starlette client).

Authorization code flow with PKCE (S256), `state` and `nonce`. The ID token's signature (the
provider's published keys), issuer (exactly the configured one: for Entra the board's own tenant,
never `common`), audience, expiry and nonce are checked by Authlib against the values set here;
this module adds a verified e-mail and, for Google, the Workspace domain (`hd`). Who may sign in is
decided by the app's users table alone: the provider only proves the e-mail address.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from crawler.secrets import token

try:  # Authlib talks to the provider through httpx2 when that is installed, else through httpx
    import httpx2 as http
except ImportError:
    import httpx as http
from schoolaudit.config import ConfigError, Settings

CLIENT_SECRET_ENV = "SCHOOLAUDIT_OIDC_CLIENT_SECRET"
PROVIDERS = ("entra", "google", "generic")
BUTTON_LABELS = {"entra": "Sign in with Microsoft", "google": "Sign in with Google", "generic": "Sign in with SSO"}
GOOGLE_ISSUER = "https://accounts.google.com"
ENTRA_ISSUER = "https://login.microsoftonline.com/{tenant}/v2.0"
# Entra's tenant id is a GUID: a domain name or `common` would give a discovery document whose issuer is
# a template or another id, and the issuer check would then prove nothing about the board's tenant.
TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOKEN_LEEWAY_SECONDS = 60  # clock difference tolerated on exp/iat


class SignInRefused(Exception):
    """An OpenID Connect sign-in that must not succeed; str() says why, for the page and the audit log.
    `email` is the address the provider named, when it got that far."""

    def __init__(self, reason: str, email: str = ""):
        super().__init__(reason)
        self.email = email


@dataclass(frozen=True)
class OidcOptions:
    """settings.toml [web.oidc]."""
    provider: str
    client_id: str
    issuer: str
    domain: str = ""  # Google Workspace domain that the `hd` claim must equal

    @property
    def button_label(self) -> str:
        return BUTTON_LABELS[self.provider]

    @property
    def metadata_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    @classmethod
    def from_settings(cls, settings: Settings) -> "OidcOptions | None":
        table = settings.raw.get("web", {}).get("oidc")
        if not table:
            return None
        where = f"{settings.config_dir / 'settings.toml'}:{_header_line(settings.config_dir / 'settings.toml')}"
        provider, client_id = str(table.get("provider", "")), str(table.get("client_id", "")).strip()
        tenant, domain = str(table.get("tenant", "")).strip().lower(), str(table.get("domain", "")).strip().lower()
        if provider not in PROVIDERS:
            raise ConfigError(f"{where}: [web.oidc] provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")
        if not client_id:
            raise ConfigError(f"{where}: [web.oidc] needs client_id (the application id the provider gave)")
        if provider == "entra" and not TENANT_ID.match(tenant):
            raise ConfigError(f"{where}: [web.oidc] tenant must be the board's Entra tenant id (a GUID such as "
                              f"00000000-0000-0000-0000-000000000000), not {tenant!r}")
        if provider == "google" and not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain):
            raise ConfigError(f"{where}: [web.oidc] domain must be the board's Google Workspace domain, "
                              f"not {domain!r}")
        default_issuer = {"entra": ENTRA_ISSUER.format(tenant=tenant), "google": GOOGLE_ISSUER}.get(provider, "")
        issuer = str(table.get("issuer", default_issuer)).rstrip("/")
        if not issuer.startswith(("https://", "http://127.0.0.1")):
            raise ConfigError(f"{where}: [web.oidc] issuer must be an https:// address, not {issuer!r}")
        if token(CLIENT_SECRET_ENV) is None:
            raise ConfigError(f"{where}: [web.oidc] is set but {CLIENT_SECRET_ENV} is not (the client secret the "
                              f"provider gave; it is read from the environment only)")
        return cls(provider=provider, client_id=client_id, issuer=issuer,
                   domain=domain if provider == "google" else "")


def _header_line(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((n for n, line in enumerate(lines, 1) if line.strip().startswith("[web.oidc]")), 1)


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
