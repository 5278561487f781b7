"""Health staff's contact-tracing pages (流调) at /workbench/health/traces/.

The list of the department's traces, the form that starts one, a trace with the people it
found and why, confirm or dismiss per person and for several at once, and closing it.
Names and ID numbers are masked until the officer opens a person (audited). Staff of
health departments only (others get the 403 page), after their second factor; another
department's trace is a 404; while health codes are switched off the pages say that
contact tracing is not in use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.core.forms import Form
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.health import tracing
from yiwang.health.models import ContactCandidate, ContactTrace
from yiwang.health.selectors import user_is_health_staff
from yiwang.health.services import health_enabled_check
from yiwang.identity.decorators import staff_required
from yiwang.identity.models import User

View = Callable[..., HttpResponse]
TRACES_PER_PAGE = 50
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DECISION_CHOICES = [
    ("confirm", gettext_lazy("Confirm as a close contact")),
    ("dismiss", gettext_lazy("Dismiss: not a close contact")),
]


class TraceStartForm(Form):
    case_id_number = forms.CharField(
        label=gettext_lazy("The case's resident ID number"),
        max_length=40,
        help_text=gettext_lazy(
            "A confirmed case or a person with a positive test, as recorded in the health facts."
        ),
    )
    window_from = forms.DateTimeField(
        label=gettext_lazy("From"), required=False, widget=DATETIME_INPUT
    )
    window_until = forms.DateTimeField(
        label=gettext_lazy("Until"),
        required=False,
        widget=DATETIME_INPUT,
        help_text=gettext_lazy("Empty: now."),
    )
    margin_minutes = forms.IntegerField(
        label=gettext_lazy("Margin (minutes)"),
        required=False,
        min_value=0,
        max_value=tracing.MARGIN_MAX_MINUTES,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days_before = settings.HEALTH_TRACE_DAYS_BEFORE
        margin = settings.HEALTH_CONTACT_MARGIN_MINUTES
        self.fields["window_from"].help_text = _(
            "Empty: %(days)d days before the confirmation or positive test."
        ) % {"days": days_before}
        self.fields["margin_minutes"].help_text = _(
            "How far apart two stays at a venue may be and still count as shared. "
            "Empty: %(minutes)d."
        ) % {"minutes": margin}


class CandidateDecisionForm(Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"), choices=DECISION_CHOICES, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=tracing.COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required when dismissing: why this person is not a close contact."),
    )


class CandidatesDecisionForm(CandidateDecisionForm):
    candidates = forms.TypedMultipleChoiceField(
        label=gettext_lazy("People chosen"), coerce=int, choices=(), required=False
    )

    def __init__(self, *args: Any, candidate_ids: Sequence[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["candidates"]
        assert isinstance(field, forms.TypedMultipleChoiceField)  # noqa: S101 - declared above
        field.choices = [(pk, str(pk)) for pk in candidate_ids]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def tracing_page(view: View) -> View:
    """Staff after the second factor; health staff only (403); "not in use" while the
    health module is switched off."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_health_staff(_user(request)):
            raise PermissionDenied
        try:
            health_enabled_check()
        except YiwangError:
            return render(request, "health/trace_unavailable.html", status=503)
        return view(request, *args, **kwargs)

    return wrapper


def _errors_place(exc: YiwangError, form: forms.Form | None) -> list[str]:
    """Field messages beside their fields; what has no field goes at the top of the page."""
    if isinstance(exc, NotFound):
        raise Http404 from exc
    page: list[str] = []
    placed = False
    for name, field_messages in exc.fields.items():
        for message in field_messages:
            if form is not None and name in form.fields:
                form.add_error(name, str(message))
                placed = True
            elif str(message) not in page:
                page.append(str(message))
    if not placed and not page:
        page.append(str(exc.message))
    return page


def _trace(request: HttpRequest, trace_id: int) -> ContactTrace:
    trace = tracing.trace_for_staff(_user(request), trace_id)
    if trace is None:
        raise Http404
    return trace


def _candidate(request: HttpRequest, trace_id: int, candidate_id: int) -> ContactCandidate:
    candidate = tracing.candidate_for_staff(_user(request), trace_id, candidate_id)
    if candidate is None:
        raise Http404
    return candidate


def _candidate_row(candidate: ContactCandidate, *, masked: bool = True) -> dict[str, Any]:
    return {
        "candidate": candidate,
        "name": mask_name(candidate.name) if masked else candidate.name,
        "id_number": mask_id_number(candidate.id_number) if masked else candidate.id_number,
        "explained": [tracing.match_explain(match) for match in candidate.matches],
        "pending": candidate.decision == ContactCandidate.Decision.PENDING,
    }


def _trace_context(trace: ContactTrace) -> dict[str, Any]:
    return {
        "trace": trace,
        "case_name": mask_name(trace.case_name),
        "case_id_number": mask_id_number(trace.case_id_number),
    }


# ---------------------------------------------------------------------------------------
# The list, and starting a trace


@tracing_page
@require_GET
def trace_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(tracing.traces_for_staff(_user(request)), TRACES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [_trace_context(trace) for trace in page.object_list]
    return render(request, "health/traces.html", {"page": page, "rows": rows})


@tracing_page
@never_cache
@require_http_methods(["GET", "POST"])
def trace_start(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "health/trace_new.html", {"form": TraceStartForm()})
    form = TraceStartForm(request.POST)
    if not form.is_valid():
        return render(request, "health/trace_new.html", {"form": form}, status=422)
    try:
        trace = tracing.trace_start(
            actor=_user(request),
            case_id_number=form.cleaned_data["case_id_number"],
            window_from=form.cleaned_data["window_from"],
            window_until=form.cleaned_data["window_until"],
            margin_minutes=form.cleaned_data["margin_minutes"],
        )
    except YiwangError as exc:
        return render(
            request,
            "health/trace_new.html",
            {"form": form, "page_errors": _errors_place(exc, form)},
            status=exc.status,
        )
    messages.success(
        request,
        _("The trace found %(count)d people to review.") % {"count": trace.summary["candidates"]},
    )
    return redirect("health_staff:trace", trace_id=trace.pk)


# ---------------------------------------------------------------------------------------
# One trace


def _detail_page(
    request: HttpRequest,
    trace: ContactTrace,
    *,
    bulk_form: CandidatesDecisionForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    rows = [_candidate_row(candidate) for candidate in tracing.trace_candidates(trace)]
    pending = [row["candidate"].pk for row in rows if row["pending"]]
    bulk_form = bulk_form or CandidatesDecisionForm(candidate_ids=pending)
    selected = {str(pk) for pk in bulk_form["candidates"].value() or []}
    for row in rows:
        row["selected"] = str(row["candidate"].pk) in selected
    return render(
        request,
        "health/trace_detail.html",
        {
            **_trace_context(trace),
            "rows": rows,
            "pending": len(pending),
            "bulk_form": bulk_form,
            "page_errors": page_errors,
        },
        status=status,
    )


@tracing_page
@require_GET
def trace_detail(request: HttpRequest, trace_id: int) -> HttpResponse:
    return _detail_page(request, _trace(request, trace_id))


@tracing_page
@require_POST
def trace_decide(request: HttpRequest, trace_id: int) -> HttpResponse:
    """Confirm or dismiss several people at once."""
    trace = _trace(request, trace_id)
    ids = list(trace.candidates.values_list("pk", flat=True))
    form = CandidatesDecisionForm(request.POST, candidate_ids=ids)
    if not form.is_valid():
        return _detail_page(request, trace, bulk_form=form, status=422)
    try:
        decided = tracing.candidates_decide(
            actor=_user(request),
            trace=trace,
            candidate_ids=form.cleaned_data["candidates"],
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _detail_page(
            request, trace, bulk_form=form, page_errors=page_errors, status=exc.status
        )
    messages.success(request, _("Decided: %(count)d.") % {"count": len(decided)})
    return redirect("health_staff:trace", trace_id=trace.pk)


@tracing_page
@require_POST
def trace_close(request: HttpRequest, trace_id: int) -> HttpResponse:
    trace = _trace(request, trace_id)
    try:
        tracing.trace_close(actor=_user(request), trace=trace)
    except YiwangError as exc:
        return _detail_page(request, trace, page_errors=_errors_place(exc, None), status=exc.status)
    messages.success(request, _("The trace is closed."))
    return redirect("health_staff:trace", trace_id=trace.pk)


# ---------------------------------------------------------------------------------------
# One person


def _candidate_page(
    request: HttpRequest,
    candidate: ContactCandidate,
    *,
    masked: bool = True,
    form: CandidateDecisionForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "health/trace_candidate.html",
        {
            **_trace_context(candidate.trace),
            "row": _candidate_row(candidate, masked=masked),
            "masked": masked,
            "form": form or CandidateDecisionForm(),
            "page_errors": page_errors,
        },
        status=status,
    )


@tracing_page
@never_cache
@require_http_methods(["GET", "POST"])
def candidate_detail(request: HttpRequest, trace_id: int, candidate_id: int) -> HttpResponse:
    """A person the trace found, masked; POST opens her full name and ID number (audited)."""
    candidate = _candidate(request, trace_id, candidate_id)
    if request.method != "POST":
        return _candidate_page(request, candidate)
    try:
        tracing.candidate_open(actor=_user(request), candidate=candidate)
    except YiwangError as exc:
        return _candidate_page(
            request, candidate, page_errors=_errors_place(exc, None), status=exc.status
        )
    return _candidate_page(request, candidate, masked=False)


@tracing_page
@require_POST
def candidate_decide(request: HttpRequest, trace_id: int, candidate_id: int) -> HttpResponse:
    candidate = _candidate(request, trace_id, candidate_id)
    form = CandidateDecisionForm(request.POST)
    if not form.is_valid():
        return _candidate_page(request, candidate, form=form, status=422)
    try:
        tracing.candidate_decide(
            actor=_user(request),
            candidate=candidate,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _candidate_page(
            request, candidate, form=form, page_errors=page_errors, status=exc.status
        )
    if form.cleaned_data["decision"] == "confirm":
        messages.success(request, _("Confirmed as a close contact; the fact has been recorded."))
    else:
        messages.success(request, _("Dismissed: not a close contact."))
    return redirect("health_staff:trace", trace_id=trace_id)
