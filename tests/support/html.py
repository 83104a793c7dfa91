"""Reading the web view's pages the way a person uses them: the links they can click, by the text
they read."""

from __future__ import annotations

from html.parser import HTMLParser


class Links(HTMLParser):
    """Every ``<a>`` of a page: its attributes and its visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[dict[str, str], str]] = []
        self._open: dict[str, str] | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = {k: v or "" for k, v in attrs}, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.found.append((self._open, "".join(self._text).strip()))
            self._open = None

    def href(self, text: str) -> str:
        """The first link reading exactly ``text``."""
        matches = [attrs["href"] for attrs, shown in self.found if shown == text]
        assert matches, f"no link reads {text!r}; the links read {[shown for _, shown in self.found]}"
        return matches[0]

    def href_where(self, **attrs: str) -> str:
        """The first link carrying these attributes (``class_`` for ``class``)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        matches = [a["href"] for a, _ in self.found if all(a.get(k) == v for k, v in wanted.items())]
        assert matches, f"no link with {wanted}; links: {[a for a, _ in self.found]}"
        return matches[0]
