"""Exactly-once after a crash: an Odoo server is killed (-9) while its cron thread sends.

A loopback Twilio-format provider (the bench's process) answers after --delay seconds
and, with --hold, keeps every accepted message queued without a DateSent for an hour, as
Twilio does beyond the sender's MPS. One Odoo server (one cron thread) starts sending N
queued messages; when the provider has received --kill-at of them, the server gets
SIGKILL: the claimed batch stays ``sending``, part of it at the provider, part not. The
reconciliation (``_cron_reconcile``, run here at once instead of after its 10 minutes)
looks each one up at the provider; a new server sends what remains. Prints what the
provider received, the duplicates among it (must be 0) and the outbox states.

``--legacy-lookup`` replays the lookup as it was before (filtered on ``DateSent``), to
show what it cost.

    python bench/bench_crash.py [--messages 3000] [--kill-at 0.4] [--hold 3600,0]
        [--legacy-lookup]
"""

import contextlib
import os
import signal
import time
from datetime import timedelta

from _odoo import (
    bench_parser,
    ensure_db,
    load_registry,
    provider_duplicates,
    start_server,
    wait_ready,
)
from bench_dispatch import (
    make_gateway,
    outbox_states,
    queue_messages,
    trigger_lanes,
    wait_until_sent,
)


@contextlib.contextmanager
def legacy_lookup():
    """The former Twilio lookup: the message list filtered on DateSent (since the day
    before), which hides the messages Twilio still holds queued."""
    from odoo.addons.sms_journey.tools.gateways.twilio import TwilioClient

    original = TwilioClient.lookup

    def lookup(self, sms, since):
        get = self.session.get
        day = (since - timedelta(days=1)).strftime("%Y-%m-%d")

        def filtered(url, params=None, **kwargs):
            if params is not None:
                params = dict(params, **{"DateSent>": day})
            return get(url, params=params, **kwargs)

        self.session.get = filtered
        try:
            return original(self, sms, since)
        finally:
            del self.session.get

    TwilioClient.lookup = lookup
    try:
        yield
    finally:
        TwilioClient.lookup = original


def run(env, server, db, count, kill_at, port, log):
    gateway = make_gateway(env, server, rate=1000.0, concurrency=48)
    server.reset()
    process = start_server(db, port, cron_threads=1, log=log)
    wait_ready(port)
    queue_messages(env, gateway, count)
    trigger_lanes(env)
    threshold = int(count * kill_at)
    while len(server.messages) < threshold:
        if process.poll() is not None:
            raise RuntimeError("the server stopped before the kill")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    received_at_kill = len(server.messages)
    time.sleep(0.5)  # requests in flight when the process died are dropped with it
    env.cr.rollback()
    at_kill = outbox_states(env, gateway)
    outbox = env["sms.gateway.message"]
    start = time.perf_counter()
    stale = outbox._cron_reconcile(limit=count, stale_after=timedelta(0))
    env.cr.commit()
    reconcile_seconds = time.perf_counter() - start
    found = len(stale.filtered(lambda m: m.state == "sent"))
    requeued = len(stale.filtered(lambda m: m.state == "queued"))
    review = len(stale.filtered(lambda m: m.state == "review"))
    process = start_server(db, port, cron_threads=1, log=log)
    try:
        wait_ready(port)
        trigger_lanes(env)
        final = wait_until_sent(env, gateway)
    finally:
        process.terminate()
        process.wait()
    messages = server.messages
    result = {
        "received_at_kill": received_at_kill,
        "states_at_kill": at_kill,
        "stale": len(stale),
        "found_by_lookup": found,
        "queued_again": requeued,
        "review": review,
        "reconcile_s": reconcile_seconds,
        "provider_received": len(messages),
        "provider_duplicates": provider_duplicates(messages),
        "final_states": final,
    }
    env.cr.execute("DELETE FROM sms_gateway_message WHERE gateway_id = %s", [gateway.id])
    gateway.unlink()
    env.cr.commit()
    return result


def main():
    parser = bench_parser(__doc__, messages=3000)
    parser.add_argument("--kill-at", type=float, default=0.4)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--hold", default="3600,0", help="queue hold(s) of the provider, s")
    parser.add_argument("--legacy-lookup", action="store_true")
    args = parser.parse_args()

    ensure_db(args.db)
    odoo, registry = load_registry(args.db)
    from odoo.addons.sms_journey.tools.gateways.loopback import TwilioFormatServer

    results = {}
    with registry.cursor() as cr, open(f"/tmp/{args.db}_crash.log", "ab") as log:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        for hold in [float(h) for h in args.hold.split(",")]:
            server = TwilioFormatServer(
                auth_token="bench", account_sid="ACbench", delay=args.delay, queue_hold=hold
            )
            with server, legacy_lookup() if args.legacy_lookup else contextlib.nullcontext():
                results[hold] = run(
                    env, server, args.db, args.messages, args.kill_at, args.port, log
                )
    for hold, result in results.items():
        mode = (
            f"provider holds accepted messages queued {hold:g} s"
            if hold
            else ("provider sends accepted messages at once")
        )
        print(f"{args.messages} SMS, server killed -9 mid-batch; {mode}:")
        for key, value in result.items():
            print(f"    {key}: {value if not isinstance(value, float) else round(value, 2)}")


if __name__ == "__main__":
    main()
