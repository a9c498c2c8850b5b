#!/usr/bin/env python3
"""Work on a gettext catalogue with the standard library only (no polib).

    scripts/translate_po.py untranslated PO [--out FILE.json]
        Lists the entries of PO that have no translation yet, or are fuzzy, as JSON:
        [{"msgid": ..., "msgid_plural": ..., "msgctxt": ..., "flags": [...], "references": [...]}, ...]

    scripts/translate_po.py apply PO FILE.json [FILE.json ...]
        Fills in translations and drops their fuzzy flag. Each JSON file is an object that maps
        a msgid (or "msgctxt\\u0004msgid" for an entry with a context) to its msgstr; for an
        entry with a plural, to a list of forms, one for each of the catalogue's plural forms.
        Placeholders (%(name)s, %d, {{ var }}, HTML tags) are checked against the msgid, and
        entries not in PO are reported; either makes the command fail without writing.

    scripts/translate_po.py stats PO
        Counts translated, untranslated and fuzzy entries.

The integrator's loop after merging branches that add strings (from the repository's root):

    make messages                                  # makemessages --all + compilemessages
    python3 scripts/translate_po.py untranslated src/threshold/locale/es/LC_MESSAGES/django.po --out todo.json
    # write {"msgid": "translation", "msgid with plural": ["one", "other"]} to es.json
    python3 scripts/translate_po.py apply src/threshold/locale/es/LC_MESSAGES/django.po es.json
    msgfmt --check --statistics -o /dev/null src/threshold/locale/es/LC_MESSAGES/django.po
    make messages                                  # re-wraps the file and compiles django.mo
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\t", "\\t")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def po_string(keyword: str, value: str, width: int = 79) -> list[str]:
    """A keyword and its string as msgmerge writes it: split after each newline and at spaces."""
    single = f'{keyword} "{escape(value)}"'
    if "\n" not in value.rstrip("\n") and len(single) <= width:
        return [single]
    lines = [f'{keyword} ""']
    for piece in re.findall(r"[^\n]*\n|[^\n]+", value):
        chunk = ""
        for word in re.findall(r"\S*\s*", escape(piece)):
            if chunk and len(chunk) + len(word) > width - 2:
                lines.append(f'"{chunk}"')
                chunk = ""
            chunk += word
        if chunk:
            lines.append(f'"{chunk}"')
    return lines


@dataclass
class Entry:
    comments: list[str] = field(default_factory=list)  # every line starting with "#"
    fields: dict[str, str] = field(default_factory=dict)  # keyword → unescaped string
    order: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def key(self) -> str:
        ctx = self.fields.get("msgctxt")
        return f"{ctx}\x04{self.msgid}" if ctx is not None else self.msgid

    @property
    def plural(self) -> bool:
        return "msgid_plural" in self.fields

    @property
    def flags(self) -> list[str]:
        return [f.strip() for c in self.comments if c.startswith("#,") for f in c[2:].split(",") if f.strip()]

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def forms(self) -> list[str]:
        return [self.fields[k] for k in self.order if k.startswith("msgstr")]

    @property
    def translated(self) -> bool:
        forms = self.forms()
        return bool(forms) and all(forms) and not self.fuzzy

    def set_translation(self, value: str | list[str], nplurals: int) -> None:
        if self.plural:
            if not isinstance(value, list) or len(value) != nplurals:
                raise ValueError(f"{self.msgid!r} needs a list of {nplurals} plural forms")
            for key in [k for k in self.order if k.startswith("msgstr")]:
                self.order.remove(key)
                del self.fields[key]
            for i, form in enumerate(value):
                self.fields[f"msgstr[{i}]"] = form
                self.order.append(f"msgstr[{i}]")
        else:
            if not isinstance(value, str):
                raise ValueError(f"{self.msgid!r} has no plural: give one string")
            self.fields["msgstr"] = value
            if "msgstr" not in self.order:
                self.order.append("msgstr")
        flags = [f for f in self.flags if f != "fuzzy"]
        # The previous msgid (#|) that msgmerge keeps beside a fuzzy guess goes with the guess.
        self.comments = [c for c in self.comments if not c.startswith(("#,", "#|"))]
        if flags:
            # Flags go after the comments and references, as msgmerge writes them.
            self.comments.append("#, " + ", ".join(flags))

    def render(self) -> str:
        lines = list(self.comments)
        prefix = "#~ " if self.obsolete else ""
        for key in self.order:
            lines.extend(prefix + line for line in po_string(key, self.fields[key]))
        return "\n".join(lines)


def parse(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        entry = Entry()
        current = None
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith("#~"):
                entry.obsolete = True
                line = line[2:].strip()
                if not line:
                    continue
            elif line.startswith("#"):
                entry.comments.append(raw)
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
            if match:
                current = match.group(1)
                entry.fields[current] = unescape(match.group(2))
                entry.order.append(current)
            elif line.startswith('"') and current:
                entry.fields[current] += unescape(line[1:-1])
        entries.append(entry)
    return entries


def nplurals(entries: list[Entry]) -> int:
    header = next((e for e in entries if e.msgid == "" and "msgstr" in e.fields), None)
    match = re.search(r"nplurals\s*=\s*(\d+)", header.fields["msgstr"]) if header else None
    return int(match.group(1)) if match else 2


PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{\{.*?\}\}|\{%.*?%\}|</?[a-zA-Z][^>]*>"
)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def check(entry: Entry, value: str | list[str]) -> list[str]:
    """Placeholders, tags and the whitespace at either end must be those of the source."""
    problems = []
    forms = value if isinstance(value, list) else [value]
    for i, form in enumerate(forms):
        source = entry.fields["msgid_plural"] if entry.plural and i > 0 else entry.msgid
        want, got = placeholders(source), placeholders(form)
        if entry.plural and i == 0:
            # The singular may leave out a named count ("un código" for "%(count)d code").
            allowed = set(placeholders(entry.msgid)) | set(placeholders(entry.fields["msgid_plural"]))
            tags = [p for p in want if p.startswith("<")]
            if (
                set(got) <= allowed
                and all(p.startswith(("%(", "<", "{")) for p in want)
                and tags == [p for p in got if p.startswith("<")]
            ):
                want = got
        if want != got:
            problems.append(f"{entry.msgid!r} form {i}: placeholders {want} != {got}")
        for edge, name in ((r"^\s*", "leading"), (r"\s*$", "trailing")):
            a = re.search(edge, source).group(0)  # type: ignore[union-attr]
            b = re.search(edge, form).group(0)  # type: ignore[union-attr]
            if a != b:
                problems.append(f"{entry.msgid!r} form {i}: {name} whitespace {a!r} != {b!r}")
        if not form.strip() and source.strip():
            problems.append(f"{entry.msgid!r} form {i}: empty")
    return problems


def load(path: Path) -> list[Entry]:
    return parse(path.read_text(encoding="utf-8"))


def save(path: Path, entries: list[Entry]) -> None:
    path.write_text("\n\n".join(e.render() for e in entries) + "\n", encoding="utf-8")


def previous_msgid(entry: Entry) -> str:
    """The msgid that msgmerge's fuzzy guess was translated from (its "#| msgid" lines)."""
    text, inside = "", False
    for line in (c[2:].strip() for c in entry.comments if c.startswith("#|")):
        if line.startswith("msgid "):
            inside, text = True, unescape(line[len("msgid ") :].strip()[1:-1])
        elif line.startswith('"') and inside:
            text += unescape(line[1:-1])
        else:
            inside = False
    return text


def cmd_untranslated(args: argparse.Namespace) -> int:
    todo = []
    for entry in load(args.po):
        if entry.msgid == "" or entry.obsolete or entry.translated:
            continue
        item: dict[str, object] = {"msgid": entry.msgid}
        if entry.plural:
            item["msgid_plural"] = entry.fields["msgid_plural"]
        if "msgctxt" in entry.fields:
            item["msgctxt"] = entry.fields["msgctxt"]
        if entry.flags:
            item["flags"] = entry.flags
        if entry.fuzzy and any(entry.forms()):
            # msgmerge's guess from a similar string, and the msgid it was made for.
            item["fuzzy_guess"] = entry.forms() if entry.plural else entry.forms()[0]
            previous = previous_msgid(entry)
            if previous:
                item["previous_msgid"] = previous
        refs = [c[2:].strip() for c in entry.comments if c.startswith("#:")]
        if refs:
            item["references"] = " ".join(refs).split()
        todo.append(item)
    text = json.dumps(todo, ensure_ascii=False, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"{len(todo)} entries to translate → {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    entries = load(args.po)
    n = nplurals(entries)
    by_key = {e.key: e for e in entries if e.msgid and not e.obsolete}
    translations: dict[str, str | list[str]] = {}
    for path in args.json:
        translations.update(json.loads(Path(path).read_text(encoding="utf-8")))
    problems = []
    for key, value in translations.items():
        entry = by_key.get(key)
        if entry is None:
            problems.append(f"not in the catalogue: {key!r}")
            continue
        problems.extend(check(entry, value))
    if problems and not args.force:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problems; nothing written (--force writes anyway)", file=sys.stderr)
        return 1
    applied = 0
    for key, value in translations.items():
        if key in by_key:
            by_key[key].set_translation(value, n)
            applied += 1
    save(args.po, entries)
    left = sum(1 for e in entries if e.msgid and not e.obsolete and not e.translated)
    print(f"applied {applied} translations; {left} entries left untranslated or fuzzy", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    entries = [e for e in load(args.po) if e.msgid and not e.obsolete]
    fuzzy = sum(e.fuzzy for e in entries)
    done = sum(e.translated for e in entries)
    print(f"{done} translated, {len(entries) - done - fuzzy} untranslated, {fuzzy} fuzzy")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("untranslated")
    p.add_argument("po", type=Path)
    p.add_argument("--out")
    p.set_defaults(func=cmd_untranslated)
    p = sub.add_parser("apply")
    p.add_argument("po", type=Path)
    p.add_argument("json", nargs="+")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_apply)
    p = sub.add_parser("stats")
    p.add_argument("po", type=Path)
    p.set_defaults(func=cmd_stats)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
