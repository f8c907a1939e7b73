"""nn.draw_digit: the draw-a-digit page as one document, with the page's own files inlined
verbatim and the network embedded (the browser test runs in tests/test_notebooks.py)."""

import html
import json
import re

import pytest

import nn
from nn.web.server import WEB_ROOT


def test_the_page_inlines_every_static_file_and_references_none():
    page = nn.draw_digit(nn.MLP([784, 5, 10], seed=0), description="a </script> in a name")
    for name in ("style.css", "digit.js", "app.js"):
        assert (WEB_ROOT / name).read_text() in page.html
    assert not re.search(r'\b(src|href)="(?!data:)', page.html)  # nothing to fetch or serve
    saved = re.search(r'id="model-json">(.*?)</script>', page.html, re.S)[1]
    document = json.loads(saved)  # "<\/" is JSON for "</"
    assert document["description"] == "a </script> in a name" and document["sizes"] == [784, 5, 10]
    # The JSON, the fetch stand-in, digit.js and app.js: the description's "</script>" is
    # written "<\\/script>", so it cannot end the JSON's script early.
    assert page.html.count("</script>") == 4 and "a <\\/script> in a name" in page.html


def test_in_jupyter_it_is_an_iframe_holding_the_whole_page(tmp_path):
    page = nn.draw_digit(nn.MLP([784, 5, 10], seed=0))
    frame = page._repr_html_()
    assert (
        frame.startswith('<iframe srcdoc="')
        and html.unescape(re.search(r'srcdoc="([^"]*)"', frame)[1]) == page.html
    )
    assert page.save(tmp_path / "digit.html").read_text() == page.html


@pytest.mark.parametrize(
    "model, error, message",
    [
        (nn.Linear(784, 10), TypeError, "draw_digit shows an nn.MLP, got Linear"),
        (nn.MLP([100, 10]), ValueError, "28 x 28 = 784 inputs; this one takes 100"),
    ],
)
def test_draw_digit_refuses_what_the_page_cannot_show(model, error, message):
    with pytest.raises(error, match=re.escape(message)):
        nn.draw_digit(model)
