import json
from pathlib import Path

from odoo.tests import HttpCase, tagged

from ..tools.encoding import client_definition

CASES_FILE = Path(__file__).parents[1] / "tools" / "tests" / "encoding_cases.json"

# run in the web client: the port against each case, and the session's alphabet
CHECK_CASES_JS = """
const { analyze } = odoo.loader.modules.get("@sms_journey/sms_encoding/sms_encoding");
const { session } = odoo.loader.modules.get("@web/session");
if (JSON.stringify(session.sms_journey_encoding) !== JSON.stringify(__DEFINITION__)) {
    console.error("the session does not hold tools/encoding.py client_definition()");
}
const failures = [];
for (const expected of __CASES__) {
    const text = expected.text.map(([piece, times]) => piece.repeat(times)).join("");
    const info = analyze(text);
    const got = [info.encoding, info.length, info.segments, info.charsLeft, info.unicodeChars];
    const want = [expected.encoding, expected.length, expected.segments,
                  expected.chars_left, expected.unicode_chars];
    if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push({ text: text.slice(0, 40), got, want });
    }
}
if (failures.length) {
    console.error("the JS port differs: " + JSON.stringify(failures));
} else {
    console.log("test successful");
}
"""


@tagged("post_install", "-at_install")
class TestSmsEncodingJs(HttpCase):
    """The browser's counter (``static/src/sms_encoding/sms_encoding.js``) answers the
    cases of ``tools/tests/encoding_cases.json`` as ``tools/encoding.py`` does."""

    def test_js_port_matches_the_shared_cases(self):
        cases = json.loads(CASES_FILE.read_text("utf-8"))["cases"]
        code = CHECK_CASES_JS.replace("__CASES__", json.dumps(cases)).replace(
            "__DEFINITION__", json.dumps(client_definition())
        )
        self.browser_js("/odoo", code, ready="odoo.isReady", login="admin")
