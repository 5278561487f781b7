"""Reads of the published service catalogue, with the joins each page needs."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Replace

from yiwang.catalog.models import (
    LifeEventBundle,
    LifeSituation,
    Material,
    ServiceItem,
    ServiceItemVersion,
    Target,
)
from yiwang.core.selectors import region_get, region_path
from yiwang.identity.models import Department

PUBLISHED = ServiceItem.Status.PUBLISHED

# Heavy columns a list never shows; the guide is read from the published snapshot.
_LIST_DEFERRED = ("form_schema", "ui_schema", "bpmn_xml", "dmn_xml", "legal_basis", "conditions")
_TEXT_FIELDS = ("name", "keywords", "summary", "standard__name")


def _published() -> QuerySet[ServiceItem]:
    return ServiceItem.objects.filter(status=PUBLISHED, current_version__isnull=False)


def _region_codes_up(region_code: str) -> list[str]:
    """The region and every region above it (a district's residents use the city's items)."""
    region = region_get(region_code)
    if region is None:
        return [region_code]
    return [r.code for r in region_path(region)]


def _search(items: QuerySet[ServiceItem], query: str) -> QuerySet[ServiceItem]:
    terms = query.split()
    compact = "".join(terms)

    def term_matches(term: str) -> Q:
        material = Material.objects.filter(item=OuterRef("pk"), name__icontains=term)
        q = Q(Exists(material))
        for name in _TEXT_FIELDS:
            q |= Q(**{f"{name}__icontains": term})
        return q

    # Item text without its spaces, so "出生登记" finds "出生 登记" and keywords run together.
    items = items.annotate(
        **{
            f"_{name}_compact": Replace(F(name), Value(" "), Value(""), output_field=TextField())
            for name in ("name", "keywords", "summary")
        }
    )
    all_terms = Q()
    for term in terms:
        all_terms &= term_matches(term)
    compact_match = (
        Q(_name_compact__icontains=compact)
        | Q(_keywords_compact__icontains=compact)
        | Q(_summary_compact__icontains=compact)
    )
    return items.filter(all_terms | compact_match).annotate(
        search_rank=Case(
            When(name=query.strip(), then=Value(0)),
            When(name__icontains=query.strip(), then=Value(1)),
            When(_name_compact__icontains=compact, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    )


def service_items_published(
    *,
    department_code: str | None = None,
    region_code: str | None = None,
    life_situation: str | None = None,
    target: str | None = None,
    query: str | None = None,
    cross_region: bool | None = None,
) -> QuerySet[ServiceItem]:
    """Published items matching every filter given; with a query, best matches first.

    ``target`` ``person`` or ``organisation`` includes items for both. ``region_code``
    gives the items of that region and of the regions above it. ``query`` matches each
    whitespace-separated term (all must match) in the name, keywords, summary, standard
    name or a material's name.
    """
    items = (
        _published()
        .select_related("department", "standard", "current_version")
        .defer(*_LIST_DEFERRED, *(f"current_version__{f}" for f in ("snapshot",)))
    )
    if department_code:
        items = items.filter(department__code=department_code)
    if region_code:
        items = items.filter(region_code__in=_region_codes_up(region_code))
    if life_situation:
        items = items.filter(life_situations__code=life_situation)
    if target:
        items = items.filter(target__in=[target, Target.BOTH])
    if cross_region is not None:
        items = items.filter(cross_region=cross_region)
    if query and query.split():
        return _search(items, query).order_by("search_rank", "code")
    return items.order_by("code")


def service_item_get(code: str) -> ServiceItem | None:
    """The published item with this code, with its current version, or None."""
    return (
        _published()
        .select_related("department", "standard", "current_version")
        .prefetch_related(
            "life_situations",
            Prefetch("materials", queryset=Material.objects.select_related("certificate_type")),
        )
        .filter(code=code)
        .first()
    )


def service_item_available_from(item: ServiceItem, region_code: str) -> bool:
    """Whether a person from ``region_code`` may apply: anyone for 跨省通办, else locals."""
    if item.cross_region:
        return True
    return item.region_code in _region_codes_up(region_code)


def life_situations(target: str | None = None) -> QuerySet[LifeSituation]:
    """Life situations in display order, each with ``item_count`` published items."""
    situations = LifeSituation.objects.annotate(
        item_count=Count("items", filter=Q(items__status=PUBLISHED), distinct=True)
    )
    if target:
        situations = situations.filter(target=target)
    return situations.order_by("order", "code")


def life_situation_get(code: str) -> LifeSituation | None:
    return LifeSituation.objects.filter(code=code).first()


def catalog_departments() -> QuerySet[Department]:
    """Departments with published items, each with ``item_count``."""
    counts = (
        _published()
        .filter(department=OuterRef("pk"))
        .order_by()
        .values("department")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Department.objects.filter(Exists(_published().filter(department=OuterRef("pk"))))
        .annotate(item_count=Coalesce(Subquery(counts), 0))
        .select_related("region")
        .order_by("code")
    )


def bundles_published(
    *, life_situation: str | None = None, target: str | None = None
) -> QuerySet[LifeEventBundle]:
    """Life-event bundles open for applications, by name."""
    bundles = LifeEventBundle.objects.filter(is_active=True)
    if life_situation:
        bundles = bundles.filter(life_situation__code=life_situation)
    if target:
        bundles = bundles.filter(target__in=[target, Target.BOTH])
    return bundles.order_by("name", "code")


def bundle_get(code: str) -> LifeEventBundle | None:
    """A life-event bundle open for applications."""
    return LifeEventBundle.objects.filter(code=code, is_active=True).first()


def current_versions(codes: Iterable[str]) -> dict[str, ServiceItemVersion]:
    """Item code → the version now published, for the published items among ``codes``."""
    items = _published().filter(code__in=list(codes)).select_related("current_version")
    return {item.code: item.current_version for item in items if item.current_version}


# ---------------------------------------------------------------------------------------
# Life-event bundles (一件事): their parts' items, for the public catalogue API


def bundle_part_items(bundles: Iterable[LifeEventBundle]) -> dict[str, ServiceItem]:
    """Item code → item, with its department, for every part of ``bundles`` (one query)."""
    codes = {code for bundle in bundles for code in bundle.part_items}
    items = (
        ServiceItem.objects.filter(code__in=codes)
        .select_related("department")
        .defer(*_LIST_DEFERRED)
    )
    return {item.code: item for item in items}
