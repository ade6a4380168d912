"""Play the README's five-minute story on a demo database and photograph it.

Run by ``scripts/screenshots.sh``, which creates the database and starts Odoo and the
sandbox provider; this script only talks to them:

- over JSON-RPC as admin, it runs the story: the abandoned-cart journey starts and
  Andrei's cart enters it, the journey's SMS reaches the sandbox phone, Andrei answers
  from it, the answer is processed and replied to from his SMS conversation;
- in headless Chromium (DevTools protocol, no extra package), it opens the screens
  and writes the PNGs the README shows.

With ``--conversation`` it photographs the contact's conversation instead (the pictures
of docs/screenshots/, see its README.md): a reply queued, then delivered by the sandbox's
report without a reload; the reply box at 1,601 characters; the conversation read by a
user whose language is Italian.
"""

import argparse
import base64
import io
import json
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket
from PIL import Image

ANDREI = "+40722345678"
WIDTH = 1280


class Odoo:
    """A JSON-RPC session as admin."""

    def __init__(self, url, db, login="admin", password="admin"):
        self.url = url
        self.db = db
        self.session = requests.Session()
        deadline = time.monotonic() + 300
        while True:
            try:  # the first request loads the registry: slow on a busy machine
                self.session.get(f"{url}/web/login", timeout=60)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        self._rpc("/web/session/authenticate", {"db": db, "login": login, "password": password})

    def _rpc(self, path, params):
        response = self.session.post(
            f"{self.url}{path}",
            json={"jsonrpc": "2.0", "method": "call", "params": params},
            timeout=120,
        )
        response.raise_for_status()
        answer = response.json()
        if answer.get("error"):
            raise RuntimeError(json.dumps(answer["error"], indent=1)[:3000])
        return answer["result"]

    def call(self, model, method, *args, **kwargs):
        return self._rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        rows = self.call(
            "ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
        )  # fmt: skip
        return rows[0]["res_id"]

    def run_cron(self, xmlid):
        self.call("ir.cron", "method_direct_trigger", [self.ref(xmlid)])

    @property
    def session_id(self):
        return self.session.cookies["session_id"]


def play_story(odoo, sandbox_url):
    """From Andrei's abandoned cart to an answered reply."""
    odoo.call("ir.config_parameter", "set_param", "web.base.url", odoo.url)
    odoo.call(
        "sms.gateway", "write", [odoo.ref("sms_journey.sms_gateway_sandbox_demo")],
        {"api_url": sandbox_url},
    )  # fmt: skip
    # marketing SMS wait for the send window: open it all day, the pictures may be
    # taken at night
    company = odoo.ref("base.main_company")
    window = {"sms_send_window_start": 0.0, "sms_send_window_end": 24.0}
    odoo.call("res.company", "write", [company], window)
    # the abandoned-cart journey ships in draft in the demo: started (after its
    # preview), it enrols the cart idle for two hours and its step sends the SMS
    odoo.call("sms.journey", "action_start", [odoo.ref("sms_journey.sms_journey_abandoned_cart")])
    odoo.run_cron("sms_journey.ir_cron_sms_journey_enrol")
    odoo.run_cron("sms_journey.ir_cron_sms_journey_steps")
    odoo.run_cron("sms_journey.ir_cron_sms_gateway_dispatch")
    time.sleep(2)  # the sandbox reports sent, then delivered
    # Andrei answers from the Sandbox phone; the inbound worker processes it
    odoo.call(
        "sms.gateway", "sandbox_phone_reply", ANDREI,
        "Hi! Is the espresso cup set still available in blue? I could pick it up on Saturday.",
    )  # fmt: skip
    odoo.run_cron("sms_journey.ir_cron_sms_interaction_process")
    # and gets an answer from his SMS conversation
    andrei = odoo.ref("sms_journey.res_partner_journey_demo_andrei")
    odoo.call(
        "res.partner", "sms_conversation_send", [andrei],
        "Yes, two blue sets left. Your cart is saved: pick it up on Saturday, 10:00-18:00.",
    )  # fmt: skip
    odoo.run_cron("sms_journey.ir_cron_sms_gateway_dispatch")
    time.sleep(2)
    # he orders: the order is attributed to the journey's SMS
    cart = odoo.ref("sms_journey.sale_order_journey_demo_cart")
    odoo.call("sale.order", "action_confirm", [cart])
    # the results' SMS figures are stored rows refreshed by a cron (every 15 minutes
    # with a cron thread): refreshed now, the Results tab and the report show the story
    odoo.run_cron("sms_journey.ir_cron_sms_result_refresh")
    return andrei


class Chromium:
    """Headless Chromium driven over the DevTools protocol."""

    def __init__(self, base_url, session_id):
        self.profile = tempfile.TemporaryDirectory()
        self.process = subprocess.Popen(
            [
                "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                "--hide-scrollbars", "--no-first-run", "--force-device-scale-factor=1",
                "--remote-debugging-port=0", f"--user-data-dir={self.profile.name}",
                f"--window-size={WIDTH},900", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not start")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Network.enable")
        self.base_url = base_url
        self.set_session(session_id)

    def set_session(self, session_id):
        """Browse as the user of this Odoo session from the next page on."""
        self.send(
            "Network.setCookie", name="session_id", value=session_id, url=self.base_url, path="/"
        )

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, selector, timeout=30):
        self.wait_until(f"!!document.querySelector({json.dumps(selector)})", selector, timeout)

    def wait_until(self, expression, what, timeout=30, step=0.3):
        """Wait for the JavaScript ``expression`` to be true; the seconds it took."""
        start = time.monotonic()
        while not self.evaluate(expression):
            if time.monotonic() > start + timeout:
                raise RuntimeError(f"{what} did not show up")
            time.sleep(step)
        return time.monotonic() - start

    def open(self, path, selector, height=800):
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH, height=height, deviceScaleFactor=1, mobile=False,
        )  # fmt: skip
        self.send("Page.navigate", url=f"{self.base_url}{path}")
        # the first page of a new database waits for its asset bundles to be generated
        self.wait_for(selector, timeout=180)

    def click(self, selector, then=None):
        self.wait_for(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        if then:
            self.wait_for(then)

    def scroll_to(self, selector):
        """Scroll ``selector`` to the top of the screen, under the control panel: a
        screen's scroller ends with a blank as high as itself, else a short page stops
        scrolling early and a sliver of what is above the element stays on the picture."""
        self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " const scroller = el.closest('.o_content');"
            " if (scroller) { scroller.style.paddingBottom = `${scroller.clientHeight}px`; }"
            " el.scrollIntoView({block: 'start'}); })()"
        )

    def shoot(self, path):
        time.sleep(1.0)  # let animations and late RPCs settle
        # and the web client's "Loading" badge of a slow RPC go
        self.wait_until("!document.querySelector('.o_loading_indicator')", "the end of loading")
        # notifications (e.g. "the page is out of date" of a copied database) hide the screen
        self.evaluate(
            "document.querySelectorAll('.o_notification_manager .o_notification')"
            ".forEach((el) => el.remove())"
        )
        png = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        image = Image.open(io.BytesIO(png)).convert("RGB")
        # a 256-colour palette keeps screenshots of a UI sharp and small
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.profile.cleanup()


def take_pictures(odoo, browser, out, andrei):
    cart_journey = odoo.ref("sms_journey.sms_journey_abandoned_cart")
    reactivation = odoo.ref("sms_journey.sms_journey_reactivation")

    browser.open(
        f"/odoo/action-sms_journey.sms_journey_action/{reactivation}",
        ".o_sms_journey_flow_card", height=1000,
    )  # fmt: skip
    browser.scroll_to(".o_notebook")
    browser.shoot(out / "screenshot_journey_flow.png")

    browser.open("/odoo/action-sms_journey.sms_sandbox_phone_client_action",
                 ".o_sms_sandbox_phone_number")  # fmt: skip
    browser.click(
        f".o_sms_sandbox_phone_number[data-number='{ANDREI}']",
        ".o_sms_thread_phone .o_sms_conversation_in",
    )
    browser.shoot(out / "screenshot_sandbox_phone.png")

    browser.open(f"/odoo/res.partner/{andrei}", ".o_form_view .o_notebook")
    browser.click(".o_notebook .nav-link[name='sms_conversation']", ".o_sms_conversation_in")
    browser.scroll_to(".o_notebook")
    browser.shoot(out / "screenshot_conversation.png")

    browser.open(f"/odoo/action-sms_journey.sms_journey_action/{cart_journey}",
                 ".o_sms_journey_flow_card")  # fmt: skip
    browser.click(".o_notebook .nav-link[name='results']", ".o_notebook .tab-pane.active")
    browser.scroll_to(".o_notebook")
    browser.shoot(out / "screenshot_journey_results.png")

    browser.open("/odoo/action-sms_journey.sms_result_event_action", ".o_graph_renderer canvas")
    browser.shoot(out / "screenshot_campaign_report.png")


# the state of the newest SMS of the conversation, from the business's side
LAST_OUT_STATE = "[...document.querySelectorAll('.o_sms_conversation_out')].at(-1)?.dataset.state"


def open_conversation(browser, andrei):
    browser.open(f"/odoo/res.partner/{andrei}", ".o_form_view .o_notebook")
    browser.click(".o_notebook .nav-link[name='sms_conversation']", ".o_sms_conversation_in")
    browser.scroll_to(".o_notebook")


def type_reply(browser, text):
    """Type ``text`` in the conversation's reply box as a user would (input events)."""
    browser.evaluate(
        "(() => { const box = document.querySelector('.o_sms_conversation_input');"
        f" box.focus(); box.value = {json.dumps(text)};"
        " box.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )


def take_conversation_pictures(odoo, browser, out, andrei):
    """The closing note of issue 23: live ticks, the limit before sending, Italian."""
    # (a) a reply sent from the conversation waits in the outbox (no cron thread here):
    # Queued; the outbox cron hands it to the sandbox, whose delivery report reaches
    # the open screen through the bus, without a reload
    open_conversation(browser, andrei)
    browser.evaluate("window.smsJourneyNotReloaded = true")
    reply = "Good news: a third blue set arrived this morning. Shall I add it to your cart?"
    type_reply(browser, reply)
    browser.click(".o_sms_conversation_send")
    browser.wait_until(f"{LAST_OUT_STATE} === 'queued'", "the queued reply")
    browser.shoot(out / "conversation_1_queued.png")
    odoo.run_cron("sms_journey.ir_cron_sms_gateway_dispatch")
    delivered = f"{LAST_OUT_STATE} === 'delivered'"
    seconds = browser.wait_until(delivered, "the delivered tick", step=0.05)
    if not browser.evaluate("window.smsJourneyNotReloaded === true"):
        raise RuntimeError("the page was reloaded: the tick did not change live")
    print(f"the tick turned to Delivered {seconds:.1f} s after the outbox cron returned")
    browser.shoot(out / "conversation_2_delivered.png")

    # (b) 1,601 characters: the counter, and the refusal before anything is queued
    type_reply(browser, ("Our Saturday opening hours and the blue espresso cup sets. " * 28)[:1601])
    browser.wait_for(".o_sms_journey_over_limit")
    sent = browser.evaluate("document.querySelectorAll('.o_sms_conversation_out').length")
    browser.click(".o_sms_conversation_send")  # refused: the button is disabled
    time.sleep(1)
    if not browser.evaluate("document.querySelector('.o_sms_conversation_send').disabled") or (
        browser.evaluate("document.querySelectorAll('.o_sms_conversation_out').length") != sent
    ):
        raise RuntimeError("a reply of 1,601 characters was not refused before sending")
    browser.evaluate("document.querySelector('.o_sms_conversation_input').scrollTop = 1e6")
    browser.shoot(out / "conversation_3_reply_1601_characters.png")

    # (c) the same conversation for a user whose language is Italian
    language = odoo.call(
        "res.lang", "search", [("code", "=", "it_IT"), ("active", "in", [True, False])]
    )
    wizard = odoo.call("base.language.install", "create", {"lang_ids": [(6, 0, language)]})
    odoo.call("base.language.install", "lang_install", [wizard])
    admin_groups = odoo.call("res.users", "read", [2], ["groups_id"])[0]["groups_id"]
    login = "marco.ferrari"
    if not odoo.call("res.users", "search", [("login", "=", login)]):
        odoo.call(
            "res.users", "create",
            {"name": "Marco Ferrari", "login": login, "password": login, "lang": "it_IT",
             "tz": "Europe/Rome", "groups_id": [(6, 0, admin_groups)]},
        )  # fmt: skip
    italian = Odoo(odoo.url, odoo.db, login=login, password=login)
    browser.set_session(italian.session_id)
    open_conversation(browser, andrei)
    browser.shoot(out / "conversation_4_italian.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--sandbox-url", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--conversation", action="store_true",
        help="the conversation's pictures (docs/screenshots) instead of the README's",
    )  # fmt: skip
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    odoo = Odoo(args.url, args.db)
    andrei = play_story(odoo, args.sandbox_url)
    browser = Chromium(args.url, odoo.session_id)
    try:
        if args.conversation:
            take_conversation_pictures(odoo, browser, args.out, andrei)
        else:
            take_pictures(odoo, browser, args.out, andrei)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
