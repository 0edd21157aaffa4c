"""Write docs/configuration.md from the settings' own descriptions, defaults and bounds.

    .venv/bin/python docs/make_configuration.py          # rewrite the file
    .venv/bin/python docs/make_configuration.py --check  # exit 1 if it is out of date

`tests/test_docs.py` runs the check, so a setting added, renamed or re-described
without regenerating this page fails the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo

from core.settings import Settings
from core.settings_env import ALIASES, ENV_NAMES, PREFIX

TARGET = Path(__file__).resolve().parent / "configuration.md"

HEAD = """# Configuration

Every setting is an environment variable `RAG_<NAME>` (or a line in a `.env` file in the
folder the program starts in). Each has bounds: a value outside them stops the program
with the variable, the bound and what to do (`error: bad setting: RAG_OCR_DPI (ocr.dpi):
Input should be greater than or equal to 72`), and a `RAG_*` variable that names no
setting is warned about with the nearest name. In code the settings are `core.settings.Settings`,
in groups (`settings.search.passages`); only the edges (the CLIs, the app, `wiring`) read
them, and `wiring/params.py` hands each part the few values it takes.

This page is generated from the settings themselves (`core/settings_groups.py`) by
`docs/make_configuration.py`; a test fails when it is out of date.
"""

_OPS = {Ge: ("ge", "≥ {}"), Gt: ("gt", "> {}"), Le: ("le", "≤ {}"), Lt: ("lt", "< {}")}


def _bounds(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for kind, (attr, fmt) in _OPS.items():
            if isinstance(meta, kind):
                value = getattr(meta, attr)
                parts.append(fmt.format(f"{value:,}" if isinstance(value, int) else value))
    annotation = str(field.annotation)
    if "Literal[" in annotation:
        choices = annotation.split("Literal[", 1)[1].split("]", 1)[0].replace("'", "")
        parts.append("one of " + choices)
    return ", ".join(parts)


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _env_name(group: str, name: str) -> str:
    names = [n for n, where in ENV_NAMES.items() if where == (group, name)]
    own = [n for n in names if n[len(PREFIX) :].lower() not in ALIASES]
    return own[0]


def _older_names(group: str, name: str) -> list[str]:
    return [PREFIX + a.upper() for a, where in ALIASES.items() if where == (group, name)]


def render() -> str:
    lines = [HEAD]
    for group, gfield in Settings.model_fields.items():
        model = gfield.default_factory
        lines.append(f"## `{group}`\n")
        lines.append((model.__doc__ or "").strip().splitlines()[0] + "\n")
        lines.append("| Variable | Default | Bounds | What it does |")
        lines.append("|---|---|---|---|")
        for name, field in model.model_fields.items():
            env = f"`{_env_name(group, name)}`"
            older = _older_names(group, name)
            if older:
                env += " (also " + ", ".join(f"`{o}`" for o in older) + ")"
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| {env} | {_default(field.default)} | {_bounds(field)} | {desc} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.name} is out of date: run .venv/bin/python docs/make_configuration.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
