"""The demo "sandbox" SMS provider: a Twilio-format loopback server, run forever.

    python sandbox_server.py --port 8070 [--host 127.0.0.1] [--auth-token sandbox-token]
                             [--account-sid ACsandbox] [--report-delay 1.0]

Every message it accepts is logged to stdout; ``report-delay`` seconds later a signed
``sent`` status callback is posted to the message's StatusCallback, then ``delivered``
after as long again. Twilio's magic test numbers fail the Twilio way: +15005550001 (invalid
number), +15005550004 (unsubscribed recipient), +15005550009 (not a mobile number).

Runs as a plain script (the addon need not be importable) and imports as
``sms_journey.tools.gateways.sandbox_server``.
"""

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys


def _load_loopback():
    if __package__:
        return importlib.import_module(".loopback", __package__)
    # Run as a script: the loopback package sits next to this file, stdlib only.
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("loopback")


def _print(text):
    # a command-line script: its output is for the person who runs it
    print(text, flush=True)  # pylint: disable=print-used


def log_message(message):
    sender = message.get("from") or message.get("messaging_service_sid") or "-"
    _print(
        f"[sandbox] SMS {message['sid']} {sender} -> {message['to']} "
        f"({message['num_segments']} segment(s)): {message['body']!r}"
    )


def log_report(record):
    params = record.get("params", {})
    outcome = record.get("error") or f"HTTP {record.get('status_code')}"
    _print(
        f"[sandbox] status {params.get('MessageStatus')} of {params.get('MessageSid')} "
        f"-> {record.get('url')}: {outcome}"
    )


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--auth-token", default="sandbox-token")
    parser.add_argument("--account-sid", default="ACsandbox")
    parser.add_argument(
        "--report-delay",
        type=float,
        default=1.0,
        help="seconds before each automatic status callback (sent, then delivered)",
    )
    return parser


def make_server(args):
    loopback = _load_loopback()
    return loopback.TwilioFormatServer(
        auth_token=args.auth_token,
        account_sid=args.account_sid,
        host=args.host,
        port=args.port,
        auto_report=True,
        report_delay=args.report_delay,
        on_message=log_message,
        on_report=log_report,
        poll_interval=0.5,
    )


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = make_server(args)

    def _terminate(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    server.start()
    _print(
        f"[sandbox] Twilio-format SMS sandbox on {server.url} "
        f"(account {args.account_sid}); Ctrl-C to stop"
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
            server.serve_forever()
    finally:
        server.stop()
        _print("[sandbox] stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
