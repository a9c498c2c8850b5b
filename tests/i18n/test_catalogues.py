"""The shipped catalogues are complete: every marked string has a translation, compiled."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "threshold"
SHIPPED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def parse_po(path: Path) -> dict[tuple[str, str], list[str]]:
    """(msgctxt, msgid) → the msgstr forms, as the program sees them (escapes resolved).

    A fuzzy entry counts as untranslated: gettext ignores it at run time. Obsolete (#~)
    entries and the header are left out.
    """
    entries: dict[tuple[str, str], list[str]] = {}
    text = path.read_text(encoding="utf-8")
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        current = None
        fields: dict[str, str] = {}
        for line in lines:
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = unescape(match.group(2))
            elif line.startswith('"') and current:
                fields[current] += unescape(line[1:-1])
        msgid = fields.get("msgid", "")
        if not msgid:
            continue
        forms = [fields[k] for k in sorted(fields, key=lambda k: (len(k), k)) if k.startswith("msgstr")]
        if fuzzy:
            forms = [""] * len(forms)
        entries[(fields.get("msgctxt", ""), msgid)] = forms
    return entries


def catalogue(language: str) -> Path:
    return PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_string_is_translated(language: str) -> None:
    po = catalogue(language)
    missing = [msgid for (_ctx, msgid), forms in parse_po(po).items() if not forms or not all(forms)]
    assert not missing, f"{len(missing)} untranslated or fuzzy strings in {po}: {missing[:10]}"


@pytest.mark.parametrize("language", SHIPPED)
def test_plural_entries_have_every_form_of_the_language(language: str) -> None:
    po = catalogue(language)
    header = re.search(r'"Plural-Forms: nplurals=(\d+); plural=([^;]+);', po.read_text(encoding="utf-8"))
    assert header, f"{po} has no Plural-Forms header"
    nplurals = int(header.group(1))
    with (po.with_suffix(".mo")).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.plural(1) == 0, "the form for one must be the first"
    assert len({compiled.plural(n) for n in range(0, 1000)}) == nplurals
    wrong = [msgid for (_ctx, msgid), forms in parse_po(po).items() if len(forms) not in (1, nplurals)]
    assert not wrong, f"plural entries without {nplurals} forms: {wrong[:10]}"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext's msgfmt")
@pytest.mark.parametrize("language", SHIPPED)
def test_the_catalogue_passes_msgfmt_check(language: str) -> None:
    """Placeholders of python-format strings (%(name)s, %(count)d) match their msgid, and
    the header is complete."""
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file=/dev/null", str(catalogue(language))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.parametrize("language", SHIPPED)
def test_the_compiled_catalogue_matches_the_source(language: str) -> None:
    po = catalogue(language)
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    messages = compiled._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for (ctx, msgid), forms in parse_po(po).items():
        key = f"{ctx}\x04{msgid}" if ctx else msgid
        if len(forms) == 1 and (key, 0) not in messages:
            expected[key] = forms[0]
        else:
            expected.update({(key, i): form for i, form in enumerate(forms)})
    stale = {k: (messages.get(k), v) for k, v in expected.items() if messages.get(k) != v}
    extra = [k for k in messages if k not in expected and k != ""]
    assert not stale, f"django.mo is older than django.po (run make messages): {list(stale.items())[:5]}"
    assert not extra, f"django.mo has strings django.po lacks (run make messages): {extra[:5]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext's xgettext")
@pytest.mark.parametrize("language", SHIPPED)
def test_no_marked_string_is_missing_from_the_catalogue(language: str, tmp_path: Path) -> None:
    """Extract the strings afresh; any that the shipped catalogue lacks fails the suite."""
    copy = tmp_path / "threshold"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", language, "--no-obsolete", "--no-location"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "", "PATH": "/usr/bin:/bin"},
    )
    fresh = set(parse_po(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
    shipped = set(parse_po(catalogue(language)))
    missing = sorted(msgid for _ctx, msgid in fresh - shipped)
    assert not missing, (
        f"{len(missing)} strings are not in the {language} catalogue (run make messages): {missing[:10]}"
    )
