"""A cookie policy that keeps nothing.

The gateway's HTTP sessions are shared by every tenant: a cookie one site (a provider, a customer's
file host, a webhook receiver) sets would ride along on the next tenant's request. None of the
gateway's outbound calls needs cookies, so the sessions refuse to store any.
"""

from __future__ import annotations

from http.cookiejar import Cookie, CookiePolicy
from typing import Any


class RejectAllCookies(CookiePolicy):
    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False
