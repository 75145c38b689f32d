"""``runmuscles serve``: a local web app over the library (upload, runs, what-if, claims).

See :mod:`runmuscles.web.app` for the app and :mod:`runmuscles.web.security` for its guards.
"""

from .app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
