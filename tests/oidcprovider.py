"""A small OpenID Connect provider on 127.0.0.1 for the review app's sign-in tests.

It serves a discovery document, its JWKS (an RSA key made at start), an authorize endpoint that
signs in whoever `next_person` names and sends the browser back with a code, and a token endpoint
that checks the client secret, the redirect URI and the PKCE verifier before answering with an ID
token signed by that key. `token_changes` alters the next ID tokens' claims (None removes a claim),
so a test can make the provider misbehave one way at a time.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


class OidcProvider:
    def __init__(self, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.next_person: dict = {}
        self.token_changes: dict = {}
        self.authorize_requests: list[dict] = []
        self._codes: dict[str, dict] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "OidcProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def discovery(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]}

    def id_token(self, request: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": "sub-" + self.next_person["email"],
                  "iat": now, "exp": now + 600, "nonce": request["nonce"], "email_verified": True,
                  **self.next_person}
        for name, value in self.token_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def authorize(self, query: dict) -> str:
        """The redirect back to the app: the code, or an error when the request is not a proper one."""
        self.authorize_requests.append(query)
        required = ("response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge")
        if any(not query.get(name) for name in required) or query["client_id"] != self.client_id \
                or query.get("code_challenge_method") != "S256":
            return f"{query.get('redirect_uri')}?" + urlencode({"error": "invalid_request",
                                                                "state": query.get("state", "")})
        code = secrets.token_urlsafe(16)
        self._codes[code] = query
        return f"{query['redirect_uri']}?" + urlencode({"code": code, "state": query["state"]})

    def token(self, form: dict, authorization: str) -> tuple[int, dict]:
        client = base64.b64decode(authorization.removeprefix("Basic ")).decode() if authorization else ""
        if client != f"{self.client_id}:{self.client_secret}":
            return 401, {"error": "invalid_client"}
        request = self._codes.pop(form.get("code", ""), None)  # a code is good once
        if request is None or form.get("redirect_uri") != request["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge.decode().rstrip("=") != request["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 600,
                     "id_token": self.id_token(request)}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, provider.discovery())
                if url.path == "/jwks":
                    return self._json(200, KeySet([provider.key]).as_dict(private=False))
                if url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                if urlsplit(self.path).path != "/token":
                    return self._json(404, {"error": "not_found"})
                return self._json(*provider.token(form, self.headers.get("Authorization", "")))

        return Handler
