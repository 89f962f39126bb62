"""The built web page (``web/dist``), served by the API at ``/``."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from nba_mlops.config import Settings

INDEX = "index.html"


def find_web_dist(settings: Settings) -> Path | None:
    """The directory of the built page: the setting, else ``web/dist`` in the repository
    or in the working directory; None when the page was not built."""
    if settings.serving.web_dist_dir is not None:
        candidates = [settings.serving.web_dist_dir]
    else:
        repository = Path(__file__).resolve().parents[3]
        candidates = [repository / "web" / "dist", Path.cwd() / "web" / "dist"]
    for candidate in candidates:
        if (candidate / INDEX).is_file():
            return candidate.resolve()
    return None


def wants_json(accept: str) -> bool:
    accept = accept.lower()
    return "application/json" in accept and "text/html" not in accept


class WebPage(StaticFiles):
    """Static files with a single-page-app fallback: unknown paths without a file
    extension get ``index.html`` so client-side routes survive a reload."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in Path(path).name or not _navigation(scope):
                raise
            return await super().get_response(INDEX, scope)


def _navigation(scope: Scope) -> bool:
    """A browser loading a page (GET, accepts HTML), not an API client missing a route."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/html" in value
    return False
