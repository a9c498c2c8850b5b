from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from threshold.verification.restrictions import response_for


class SessionRestrictionMiddleware:
    """Serves the registered session restrictions (``verification.restrictions``), in their order.

    SECURITY: a restricted session's POSTs are redirected like its GETs, so they change nothing.
    Costs nothing for a session no restriction applies to beyond each predicate, which reads the
    already-loaded user and session (the organisation's set-up reads its policy).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = response_for(request)
            if response is not None:
                return response
        return self.get_response(request)
