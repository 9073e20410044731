"""Signing in with the board's Microsoft Entra or Google Workspace: settings.toml [web.oidc], and the
refusal every failed sign-in ends in. The OpenID Connect client itself is in `oidc_client`, imported
only when [web.oidc] is set (Authlib and cryptography are not loaded for every command).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from crawler.secrets import token
from schoolaudit.config import ConfigError, Settings

CLIENT_SECRET_ENV = "SCHOOLAUDIT_OIDC_CLIENT_SECRET"
PROVIDERS = ("entra", "google", "generic")
BUTTON_LABELS = {"entra": "Sign in with Microsoft", "google": "Sign in with Google", "generic": "Sign in with SSO"}
GOOGLE_ISSUER = "https://accounts.google.com"
ENTRA_ISSUER = "https://login.microsoftonline.com/{tenant}/v2.0"
# Entra's tenant id is a GUID: a domain name or `common` would give a discovery document whose issuer is
# a template or another id, and the issuer check would then prove nothing about the board's tenant.
TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


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
