"""The local server's guards: who may talk to it, and from which page.

A server on 127.0.0.1 can be reached by any web page the user has open (a form posted to
``http://127.0.0.1:PORT``, or a DNS name rebound to 127.0.0.1). Every request passes, in order:

1. **Host allowlist** (against DNS rebinding): the ``Host`` header's name must be one the
   server was started for (127.0.0.1, localhost, ::1, or the explicit ``--host``).
2. **Session**: a per-launch token, printed once in the URL that ``runmuscles serve`` opens,
   is exchanged for a random session id in an HttpOnly, SameSite=Strict cookie; the token is
   then removed from the address bar (a redirect). Requests without a valid session get a
   page saying how to open the app, except the style sheet and scripts (public files).
3. **State-changing requests** (every method but GET, HEAD, OPTIONS) must come from the
   app's own pages: ``Sec-Fetch-Site`` (when the browser sends it) must be ``same-origin``,
   ``Origin`` (when sent) must be the app's own, and a CSRF token derived from the session
   (HMAC-SHA256 under a per-launch secret) must be given in the ``X-CSRF-Token`` header
   (scripts) or the ``csrf_token`` query parameter (forms).
4. **Headers on every answer**: a Content-Security-Policy that allows the app's own files
   only (no inline scripts or styles, no other origin, no framing), ``nosniff``, and
   ``Referrer-Policy: same-origin`` (``no-referrer`` would make browsers send ``Origin: null``
   on the app's own form posts).

The guards follow OWASP's Cross-Site Request Forgery Prevention Cheat Sheet (token plus
Fetch-metadata and Origin checks) and its advice on DNS rebinding (Host header validation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

__all__ = [
    "CSP",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOOPBACK_HOSTS",
    "SESSION_COOKIE",
    "Guard",
    "GuardRefusal",
    "is_loopback",
]

SESSION_COOKIE = "runmuscles_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
TOKEN_PARAM = "token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths served without a session: the app's own static files (style sheet and scripts).
PUBLIC_PREFIXES = ("/static/",)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine only (127.0.0.0/8, ::1, localhost)."""
    h = host.strip("[]").lower()
    return h in LOOPBACK_HOSTS or h.startswith("127.")


def _host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` -> ``::1``, ``a:80`` -> ``a``)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


@dataclass(frozen=True)
class GuardRefusal(Exception):
    """A request the guards refuse: HTTP status and the sentence shown on the page."""

    status: int
    message: str


@dataclass
class Guard:
    """The per-launch secrets and the checks of one server.

    Parameters
    ----------
    allowed_hosts
        Host names the ``Host`` header may carry (without port).
    launch_token
        The token of the opened URL (default: a new random one).
    secure_cookie
        Mark the cookie ``Secure`` (only when served over HTTPS).
    cookie_name
        The session cookie's name. Browsers keep cookies per host, not per port, so each
        server names its own (``runmuscles_session_<port>``): two launches on different
        ports do not overwrite each other's session.
    """

    allowed_hosts: frozenset[str]
    cookie_name: str = SESSION_COOKIE
    launch_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    secure_cookie: bool = False
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _sessions: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def for_hosts(cls, hosts: Iterable[str], **kw) -> Guard:
        return cls(allowed_hosts=frozenset(h.strip("[]").lower() for h in hosts), **kw)

    # -- tokens ------------------------------------------------------------------------
    def csrf_token(self, session: str) -> str:
        """The CSRF token of a session: HMAC-SHA256 of the session id under the launch secret."""
        return hmac.new(self._secret, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()

    def session_of(self, request: Request) -> str | None:
        """The request's session id when it is one this server issued, else ``None``."""
        sid = request.cookies.get(self.cookie_name)
        if sid and any(hmac.compare_digest(sid, s) for s in self._sessions):
            return sid
        return None

    def _new_session(self) -> str:
        sid = secrets.token_urlsafe(32)
        self._sessions.add(sid)
        return sid

    # -- checks ------------------------------------------------------------------------
    def check_host(self, request: Request) -> None:
        host = request.headers.get("host", "")
        if _host_name(host) not in self.allowed_hosts:
            raise GuardRefusal(
                421,
                "This page was asked for under a host name the app does not serve "
                "(open it at the address runmuscles serve printed).",
            )

    def check_origin(self, request: Request) -> None:
        """Fetch metadata and Origin of a state-changing request."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            raise GuardRefusal(403, "This request came from another site and was refused.")
        origin = request.headers.get("origin")
        if origin is not None:
            own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
            if origin.lower() != own:
                raise GuardRefusal(403, "This request came from another site and was refused.")

    def check_csrf(self, request: Request, session: str) -> None:
        given = request.headers.get(CSRF_HEADER) or request.query_params.get(CSRF_FIELD) or ""
        if not hmac.compare_digest(given.encode(), self.csrf_token(session).encode()):
            raise GuardRefusal(
                403, "This form is out of date or did not come from the app; reload the page and try again."
            )

    # -- middleware --------------------------------------------------------------------
    async def __call__(
        self,
        request: Request,
        call_next: Callable[[Request], Awaitable[Response]],
        refuse: Callable[[Request, GuardRefusal], Response],
    ) -> Response:
        try:
            self.check_host(request)
            token = request.query_params.get(TOKEN_PARAM)
            if token is not None and request.method == "GET":
                return self._exchange(request, token)
            session = self.session_of(request)
            if session is None and not request.url.path.startswith(PUBLIC_PREFIXES):
                raise GuardRefusal(
                    401,
                    "Open the app with the link runmuscles serve printed: it carries this launch's "
                    "key (a new launch needs its new link).",
                )
            if request.method not in SAFE_METHODS:
                self.check_origin(request)
                self.check_csrf(request, session or "")
            request.state.session = session
            request.state.csrf_token = self.csrf_token(session) if session else ""
            response = await call_next(request)
        except GuardRefusal as exc:
            response = refuse(request, exc)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def _exchange(self, request: Request, token: str) -> Response:
        """The launch token for a session cookie, and a redirect to the same page without it."""
        if not hmac.compare_digest(token.encode(), self.launch_token.encode()):
            raise GuardRefusal(401, "This link's key is not the current launch's; use the link just printed.")
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAM]
        path = request.url.path
        if not path.startswith("/") or path.startswith("//") or "\\" in path:  # no open redirect
            path = "/"
        target = path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            self.cookie_name,
            self._new_session(),
            httponly=True,
            samesite="strict",
            secure=self.secure_cookie,
            path="/",
        )
        return response
