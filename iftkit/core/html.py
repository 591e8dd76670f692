"""Markdown reports as self-contained HTML pages (no network): one path for the sweep report and
meta-eval, through markdown-it-py (CommonMark + tables), with PNG charts embedded as data URIs.

The Markdown quotes text iftkit does not control (recipe and task names, labels, model output):
raw HTML, images, links, autolinks and link reference definitions are all off, so such text
renders as text and the page never loads or points at anything remote."""

import base64
import html
from pathlib import Path

from markdown_it import MarkdownIt

_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #bbb;padding:4px 8px}"
          "th{background:#eee}img{max-width:100%}code{background:#f3f3f3;padding:1px 3px}")


# the rules that turn text into references to other documents; the reports write none themselves
_REFERENCE_RULES = ["image", "link", "autolink", "reference"]


def markdown_page(markdown_text: str, title: str, images=()) -> str:
    """`images`: PNG paths, or {caption: path}; each is embedded after the text."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable(_REFERENCE_RULES)
    body = md.render(markdown_text)
    items = images.items() if isinstance(images, dict) else ((Path(p).name, p) for p in images)
    figures = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(Path(path).read_bytes()).decode()}"><figcaption>{html.escape(name)}</figcaption></figure>'
        for name, path in items)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n{body}{figures}\n</body></html>\n")
