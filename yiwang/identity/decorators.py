from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from yiwang.identity.middleware import redirect_to_second_factor, second_factor_passed
from yiwang.identity.selectors import user_is_staff_member


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only department staff (users holding a staff role) may open the view, and only
    after the second factor."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_is_staff_member(request.user):
            raise PermissionDenied
        # The middleware sends staff here already; checked again in case a role was
        # granted during this session.
        if not second_factor_passed(request.user):
            return redirect_to_second_factor(request)
        return view(request, *args, **kwargs)

    return wrapper
