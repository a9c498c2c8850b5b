from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from threshold.core.context import RequestContext


class RequestContextMiddleware:
    """Attaches ``request.ctx`` (client address, user agent, country) to every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.ctx = RequestContext.from_request(request)  # type: ignore[attr-defined]
        return self.get_response(request)
