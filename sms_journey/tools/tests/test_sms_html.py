"""Tests for sms_journey.tools.sms_html: safe chatter HTML of SMS texts."""

import re
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.sms_html import sms_text_to_html

URL = re.compile(r"https?://[\w.:/-]+(?:\?\S+)?")  # links may carry any query string


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.hrefs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])

    def handle_data(self, data):
        self.text.append(data)


def parse(body):
    collector = _Collector()
    collector.feed(body)
    collector.close()
    return collector


def test_text_links_and_new_lines():
    body = sms_text_to_html("Hi Giulia & <co>\nsee https://shop.example.com/r/abc/j/5 now", URL)
    assert body == (
        "<p>Hi Giulia &amp; &lt;co&gt;<br>see "
        '<a href="https://shop.example.com/r/abc/j/5" target="_blank" '
        'rel="noreferrer noopener">https://shop.example.com/r/abc/j/5</a> now</p>'
    )


def test_quotes_stay_literal_in_text_and_escaped_in_links():
    assert sms_text_to_html('It\'s "ok"', URL) == '<p>It\'s "ok"</p>'
    body = sms_text_to_html('x https://x.y/?a="onmouseover="alert(1) y', URL)
    assert 'href="https://x.y/?a=&quot;onmouseover=&quot;alert(1)"' in body
    assert parse(body).tags == [
        ("p", {}),
        (
            "a",
            {
                "href": 'https://x.y/?a="onmouseover="alert(1)',
                "target": "_blank",
                "rel": "noreferrer noopener",
            },
        ),
    ]


def test_link_first_is_wrapped_in_a_span_and_empty_text_is_empty():
    assert sms_text_to_html("https://a.b/c?x=1&y=2 go", URL).startswith(
        '<span><a href="https://a.b/c?x=1&amp;y=2"'
    )
    assert sms_text_to_html("", URL) == ""
    assert sms_text_to_html(False, URL) == ""


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200))
def test_any_text_gives_only_text_links_and_breaks(text):
    """Whatever the SMS says, the HTML holds the same text, no other tag and no other
    attribute than the link's own."""
    body = sms_text_to_html(text, URL)
    parsed = parse(body)
    assert {tag for tag, _attrs in parsed.tags} <= {"p", "span", "a", "br"}
    for tag, attrs in parsed.tags:
        if tag == "a":
            assert set(attrs) == {"href", "target", "rel"}
            assert URL.fullmatch(attrs["href"])
        else:
            assert not attrs
    expected = re.sub(r"\r?\n|\r", "", text)
    assert "".join(parsed.text) == expected
    assert parsed.hrefs == [m.group(0) for m in URL.finditer(text)]
