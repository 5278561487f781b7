"""The Chinese catalogue is complete and the compiled catalogue matches it."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def active_entries(catalog):
    return [e for e in catalog if not e.obsolete and e.msgid]


def test_every_message_has_a_reviewed_chinese_translation():
    po = polib.pofile(str(LOCALE / "django.po"))

    untranslated = [e.msgid for e in active_entries(po) if not e.msgstr or "fuzzy" in e.flags]

    assert untranslated == []


def test_the_compiled_catalogue_matches_the_source_catalogue():
    po = {e.msgid: e.msgstr for e in active_entries(polib.pofile(str(LOCALE / "django.po")))}
    mo = {e.msgid: e.msgstr for e in active_entries(polib.mofile(str(LOCALE / "django.mo")))}

    assert mo == po


def test_placeholders_survive_translation():
    po = polib.pofile(str(LOCALE / "django.po"))

    broken = [
        e.msgid
        for e in active_entries(po)
        if sorted(part.split(")")[0] for part in e.msgid.split("%(")[1:])
        != sorted(part.split(")")[0] for part in e.msgstr.split("%(")[1:])
    ]

    assert broken == []
