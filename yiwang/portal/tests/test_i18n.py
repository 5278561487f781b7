"""The Chinese catalogue is complete and the compiled catalogue matches it."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def active_entries(catalog):
    return [e for e in catalog if not e.obsolete and e.msgid]


def translation(entry) -> str:
    """The entry's translation; Chinese has one plural form."""
    return entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr


def test_every_message_has_a_reviewed_chinese_translation():
    po = polib.pofile(str(LOCALE / "django.po"))

    untranslated = [e.msgid for e in active_entries(po) if not translation(e) or "fuzzy" in e.flags]

    assert untranslated == []


def test_the_compiled_catalogue_matches_the_source_catalogue():
    po = {e.msgid: translation(e) for e in active_entries(polib.pofile(str(LOCALE / "django.po")))}
    mo = {e.msgid: translation(e) for e in active_entries(polib.mofile(str(LOCALE / "django.mo")))}

    assert mo == po


def test_placeholders_survive_translation():
    po = polib.pofile(str(LOCALE / "django.po"))

    broken = [
        e.msgid
        for e in active_entries(po)
        if sorted(part.split(")")[0] for part in e.msgid.split("%(")[1:])
        != sorted(part.split(")")[0] for part in translation(e).split("%(")[1:])
    ]

    assert broken == []
