"""HTML from templates where every value is escaped unless it is already Markup.

Templates are the files in `templates/`, with `$name` placeholders (string.Template; `$$` is a
dollar sign). A value rendered into a template is escaped for text and for quoted attributes;
only Markup (the output of `render`, `escape` or `join`) goes in as it is. Caller-supplied
text (a caller ID name such as `<script>`) can therefore only ever show as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path
from string import Template
from urllib.parse import quote

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
_VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source"})


class Markup(str):
    """Text that is HTML already: inserted into templates without escaping."""

    __slots__ = ()


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[object], separator: str = "") -> Markup:
    return Markup(separator.join(escape(part) for part in parts))


def url_part(value: str) -> str:
    """A path segment for a URL (escape the whole URL for HTML afterwards)."""
    return quote(value, safe="")


def render(template: str, **values: object) -> Markup:
    """The template file `templates/<template>.html` with its placeholders filled."""
    text = _TEMPLATES[template].substitute({name: escape(value) for name, value in values.items()})
    return Markup(text)


def element(tag: str, content: object = "", **attributes: object) -> Markup:
    """One element, e.g. element("td", value, class_="num"); a None attribute is left out,
    True stands alone."""
    parts = [tag]
    for name, value in attributes.items():
        name = name.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(name)
        elif value is not None and value is not False:
            parts.append(f'{name}="{escape(value)}"')
    if tag in _VOID:
        return Markup(f"<{' '.join(parts)}>")
    return Markup(f"<{' '.join(parts)}>{escape(content)}</{tag}>")


def options(choices: Iterable[tuple[str, object]], selected: str | None) -> Markup:
    """<option> elements for (value, label) pairs."""
    return join(
        element("option", label, value=value, selected=value == selected)
        for value, label in choices
    )


def _load_templates() -> dict[str, Template]:
    return {path.stem: Template(path.read_text()) for path in TEMPLATE_DIR.glob("*.html")}


_TEMPLATES = _load_templates()  # read once at import, never on the event loop
