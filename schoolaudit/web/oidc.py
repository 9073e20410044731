"""Signing in with the board's Microsoft Entra or Google Workspace: settings.toml [web.oidc], and the
refusal every failed sign-in ends in. The OpenID Connect client itself is in `oidc_client`, imported
only when [web.oidc] is set (Authlib and cryptography are not loaded for every command).
"""
from __future__ import annotations

from dataclasses import dataclass

from crawler.secrets import token
from schoolaudit.config import ConfigError, ConfigFile, Settings

CLIENT_SECRET_ENV = "SCHOOLAUDIT_OIDC_CLIENT_SECRET"
BUTTON_LABELS = {"entra": "Sign in with Microsoft", "google": "Sign in with Google", "generic": "Sign in with SSO"}
GOOGLE_ISSUER = "https://accounts.google.com"
ENTRA_ISSUER = "https://login.microsoftonline.com/{tenant}/v2.0"


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
        """The options, or None without [web.oidc]. Each key's form is checked with the file's schema
        (schoolaudit.config.settings); here, FILE:LINE errors for what needs two keys or the environment."""
        table = settings.web.oidc
        if not table:
            if not settings.web.password_sign_in:
                raise _problem(settings, ("web", "password_sign_in"),
                               "password_sign_in = false needs [web.oidc] (else nobody can sign in)")
            return None
        provider = table["provider"]
        needed = {"entra": "tenant", "google": "domain", "generic": "issuer"}[provider]
        if not table.get(needed):
            raise _problem(settings, ("web", "oidc"), f"[web.oidc] provider = \"{provider}\" needs {needed}")
        if token(CLIENT_SECRET_ENV) is None:
            raise _problem(settings, ("web", "oidc"), f"[web.oidc] is set but {CLIENT_SECRET_ENV} is not (the client "
                                                      "secret the provider gave; it is read from the environment only)")
        default_issuer = {"entra": ENTRA_ISSUER.format(tenant=table.get("tenant")), "google": GOOGLE_ISSUER}
        return cls(provider=provider, client_id=table["client_id"].strip(),
                   issuer=table.get("issuer", default_issuer.get(provider, "")).rstrip("/"),
                   domain=table.get("domain", "") if provider == "google" else "")


def _problem(settings: Settings, key_path: tuple, message: str) -> ConfigError:
    file = ConfigFile.read(settings.config_dir / "settings.toml")
    file.add(key_path, message)
    return ConfigError(problems=file.problems)
