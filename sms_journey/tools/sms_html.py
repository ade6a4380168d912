"""The chatter HTML of an SMS text, built safe by construction.

The journey step cron writes its chatter log messages without ``mail.message.create``
(see ``models/mail_thread.py``), hence without Odoo's HTML sanitiser. This builds the
body the way the sanitiser leaves Odoo's rendering of an SMS (escaped text, clickable
links, ``<br>`` for new lines, in a paragraph) but escapes every piece itself: the text
can only ever produce text, ``<br>`` and links whose ``href`` cannot leave its quotes.
"""

import html
import re

_NEW_LINE = re.compile(r"\r?\n|\r")


def _text(text):
    # the sanitiser's serialisation: quotes stay literal in text, no-break spaces named
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


def _attribute(value):
    return html.escape(value, quote=False).replace('"', "&quot;")


def sms_text_to_html(text, url_pattern):
    """HTML body for the SMS ``text``; the matches of ``url_pattern`` (a compiled regex
    of http(s) links) become links opening in a new tab."""
    if not text:
        return ""
    parts, position = [], 0
    for match in url_pattern.finditer(text):
        url = match.group(0)
        parts.append(_text(text[position : match.start()]))
        parts.append(
            f'<a href="{_attribute(url)}" target="_blank" rel="noreferrer noopener">'
            f"{_text(url)}</a>"
        )
        position = match.end()
    parts.append(_text(text[position:]))
    body = _NEW_LINE.sub("<br>", "".join(parts))
    # the sanitiser wraps a fragment starting with an element in a span, text in a paragraph
    tag = "span" if parts[0] == "" and len(parts) > 1 else "p"
    return f"<{tag}>{body}</{tag}>"
