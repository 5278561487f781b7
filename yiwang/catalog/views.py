"""Citizen pages of the service catalogue: browse and search, a guide, a life situation,
a life-event bundle (一件事)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from yiwang.catalog import selectors
from yiwang.catalog.forms import ServiceSearchForm
from yiwang.catalog.models import ItemType, Material, Target

PAGE_SIZE = 20

ONLINE_DEPTHS = {
    1: _("Guide online only"),
    2: _("Forms and booking online"),
    3: _("Applied online, result collected in person"),
    4: _("Fully online, including delivery"),
}


def service_list(request: HttpRequest) -> HttpResponse:
    departments = list(selectors.catalog_departments())
    form = ServiceSearchForm(request.GET or None, departments=departments)
    form.is_valid()
    # Filters that failed validation are dropped; the others still apply.
    filters: dict[str, Any] = getattr(form, "cleaned_data", {})
    situation = filters.get("situation") or ""
    items = selectors.service_items_published(
        query=filters.get("q") or None,
        target=filters.get("target") or None,
        department_code=filters.get("department") or None,
        life_situation=situation or None,
    )
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {k: v for k, v in filters.items() if v and k != "situation"}
    situations = [
        {"situation": s, "url": "?" + urlencode({**kept, "situation": s.code})}
        for s in selectors.life_situations(filters.get("target") or None)
    ]
    page_query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "catalog/service_list.html",
        {
            "form": form,
            "page": page,
            "situations": situations,
            "situation": situation,
            "all_situations_url": "?" + urlencode(kept),
            "page_query": page_query,
            "searched": any(filters.values()),
            # Bundles are found by situation, not by words or department.
            "bundles": []
            if filters.get("q") or filters.get("department")
            else list(
                selectors.bundles_published(
                    life_situation=situation or None, target=filters.get("target") or None
                )
            ),
        },
    )


def service_detail(request: HttpRequest, code: str) -> HttpResponse:
    item = selectors.service_item_get(code)
    if item is None or item.current_version is None:
        raise Http404
    version = item.current_version
    # The guide as published: edits not yet published do not show.
    guide = version.snapshot
    materials = [
        {**material, "form_label": Material.Form(material["form"]).label}
        for material in guide["materials"]
    ]
    return render(
        request,
        "catalog/service_detail.html",
        {
            "item": item,
            "version": version,
            "guide": guide,
            "materials": materials,
            "item_type_label": ItemType(guide["item_type"]).label,
            "target_label": Target(guide["target"]).label,
            "online_depth_label": ONLINE_DEPTHS.get(guide["online_depth"], ""),
        },
    )


def life_situation_detail(request: HttpRequest, code: str) -> HttpResponse:
    situation = selectors.life_situation_get(code)
    if situation is None:
        raise Http404
    items = selectors.service_items_published(life_situation=situation.code)
    return render(
        request,
        "catalog/life_situation.html",
        {
            "situation": situation,
            "items": list(items),
            "bundles": list(selectors.bundles_published(life_situation=situation.code)),
        },
    )


def bundle_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The guide of a life-event bundle: its services, which wait for which, who confirms."""
    bundle = selectors.bundle_get(code)
    if bundle is None:
        raise Http404
    versions = selectors.current_versions(bundle.part_items)
    definition = bundle.definition
    names = {
        part["key"]: versions[part["item"]].snapshot["name"]
        if part["item"] in versions
        else part["item"]
        for part in definition["parts"]
    }
    parts = []
    for part in definition["parts"]:
        version = versions.get(part["item"])
        guide = version.snapshot if version is not None else {}
        parts.append(
            {
                "key": part["key"],
                "name": names[part["key"]],
                "item_code": part["item"],
                "available": version is not None,
                "department": guide.get("department", {}).get("name", ""),
                "promised_limit_days": guide.get("promised_limit_days"),
                "optional": part["optional"],
                "conditional": bool(part["when"]),
                "after": [names[key] for key in part["after"] if key in names],
                "takes_results": bool(part["from_results"]),
            }
        )
    levels = [int(v.snapshot.get("min_assurance_level", 2)) for v in versions.values()]
    return render(
        request,
        "catalog/bundle_detail.html",
        {
            "bundle": bundle,
            "parts": parts,
            "available": all(part["available"] for part in parts),
            "co_applicants": [entry["label"] for entry in definition.get("co_applicants", [])],
            "confirm_days": definition.get("confirm_days"),
            "min_assurance_level": max(levels, default=2),
        },
    )
