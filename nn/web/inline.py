"""The draw-a-digit page without a server: nn/web/static's page, styles and scripts put into
one HTML document with the network's JSON, shown inline in Jupyter or saved as a file.

The page's code is used as it is: its one request, for model.json, is answered from the
embedded JSON by a small stand-in for fetch, so nothing is served and nothing is fetched.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..layers import MLP
from .server import WEB_ROOT, model_json

# Answers the page's fetch("model.json") with the embedded network; any other URL goes to
# the browser's fetch as usual.
FETCH_STAND_IN = """
(() => {
  const saved = JSON.parse(document.getElementById("model-json").textContent);
  const browserFetch = window.fetch ? window.fetch.bind(window) : null;
  window.fetch = (url, ...rest) =>
    url === "model.json"
      ? Promise.resolve(new Response(JSON.stringify(saved), {
          headers: { "Content-Type": "application/json" },
        }))
      : browserFetch(url, ...rest);
})();
"""


class DigitPage:
    """The page for one network: `html` is a standalone document; in Jupyter it shows in an
    iframe (the page's styles and scripts stay out of the notebook's); save(path) writes it."""

    def __init__(self, document: str, height: int = 800):
        self.html, self.height = document, height

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="Draw a digit" '
            f'style="width: 100%; height: {self.height}px; border: 0"></iframe>'
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path


def draw_digit(model: MLP, description: str = "", height: int = 800) -> DigitPage:
    """The draw-a-digit page for model (an MLP taking 28 x 28 = 784 inputs), serverless.

    In a notebook, end a cell with nn.draw_digit(model) to draw digits under it and watch the
    network read them, as `python -m nn.serve` shows it in a browser tab.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"draw_digit shows an nn.MLP, got {type(model).__name__}")
    if model.sizes[0] != 784:
        raise ValueError(
            f"draw_digit needs a network taking 28 x 28 = 784 inputs; this one takes "
            f"{model.sizes[0]}"
        )
    return DigitPage(page_document(model_json(model, description).decode()), height)


def page_document(saved_json: str) -> str:
    """index.html with style.css, digit.js and app.js inlined and the model embedded."""
    page = (WEB_ROOT / "index.html").read_text(encoding="utf-8")
    style = (WEB_ROOT / "style.css").read_text(encoding="utf-8")
    # "</" could end a <script> early: JSON allows writing it as "<\/".
    embedded = saved_json.replace("</", "<\\/")
    scripts = [
        f'<script type="application/json" id="model-json">{embedded}</script>',
        f"<script>{FETCH_STAND_IN}</script>",
    ] + [
        f"<script>{_script_text(name)}</script>" for name in _page_scripts(page)
    ]  # fmt: skip
    page = page.replace('<link rel="stylesheet" href="style.css" />', f"<style>{style}</style>")
    page = re.sub(r'\s*<script src="[^"]+" defer></script>', "", page)
    # At the end of <head>, as the deferred scripts ran: app.js waits for DOMContentLoaded.
    return page.replace("</head>", "\n".join(scripts) + "\n  </head>", 1)


def _page_scripts(page: str) -> list[str]:
    names = re.findall(r'<script src="([^"]+)" defer></script>', page)
    if not names or "style.css" not in page:
        raise RuntimeError("nn/web/static/index.html no longer has the expected links")
    return names


def _script_text(name: str) -> str:
    text = (WEB_ROOT / name).read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise RuntimeError(f"nn/web/static/{name} contains </script and cannot be inlined")
    return text
