"""What an upgrade must not lose, read from a database: used by ``upgrade_check.sh``.

    python scripts/upgrade_snapshot.py --db DB --addons-path PATHS traffic
        runs every cron of sms_journey twice (enrolment, steps, outbox, inbound worker…),
        committing, so the database holds journeys running, outbox rows and replies
    python scripts/upgrade_snapshot.py --db DB --addons-path PATHS snapshot --out FILE
        writes the facts below as JSON
    python scripts/upgrade_snapshot.py compare BEFORE AFTER
        prints each difference and exits 1 when something was lost

The facts are read generically (every stored model of the module, every contact's consent
state, every participant's next step), so that they mean the same in both versions.
"""

import argparse
import contextlib
import datetime
import json
import sys

from odoo_boot import add_database_arguments, boot_odoo


def _registry(args):
    odoo = boot_odoo(args, "warn")
    return odoo, odoo.modules.registry.Registry.new(args.db)


@contextlib.contextmanager
def _superuser_env(odoo, registry):
    """An environment of the superuser on a new cursor of ``registry``, closed after."""
    with registry.cursor() as cr:
        yield odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})


def traffic(args):
    odoo, registry = _registry(args)
    with _superuser_env(odoo, registry) as env:
        cron_ids = (
            env["ir.model.data"]
            .search([("module", "=", "sms_journey"), ("model", "=", "ir.cron")])
            .mapped("res_id")
        )
        _participants_waiting(odoo, env)
        env.cr.commit()
    for _round in range(2):
        for cron_id in cron_ids:
            # each cron in its own transaction, as Odoo's cron runner does
            with _superuser_env(odoo, registry) as env:
                cron = env["ir.cron"].browse(cron_id)
                try:
                    cron.method_direct_trigger()
                    env.cr.commit()
                except Exception as error:  # report it, run the others
                    env.cr.rollback()
                    print(f"cron {cron.cron_name!r} failed: {error}", file=sys.stderr)


def _participants_waiting(odoo, env):
    """Contacts in the middle of the longest running journey, their next step two days
    ahead: what an upgrade most often meets (the demo's own participants have finished)."""
    journeys = env["sms.journey"].search([("state", "=", "running")])
    journey = max(journeys, key=lambda j: len(j.step_ids), default=None)
    if not journey or len(journey.step_ids) < 2:
        return
    step = journey.step_ids.sorted("sequence")[1]
    taken = env["sms.journey.participant"].search([("journey_id", "=", journey.id)])
    partners = env["res.partner"].search(
        [("phone", "!=", False), ("id", "not in", taken.partner_id.ids)], limit=20
    )
    due = odoo.fields.Datetime.now() + datetime.timedelta(days=2)
    env["sms.journey.participant"].create(
        [
            {"journey_id": journey.id, "partner_id": partner.id, "step_id": step.id,
             "next_action_at": due, "key": "upgrade-check"}
            for partner in partners
        ]
    )  # fmt: skip


def snapshot(args):
    odoo, registry = _registry(args)
    with _superuser_env(odoo, registry) as env:
        models = (
            env["ir.model"]
            .search([])
            .filtered(lambda m: "sms_journey" in (m.modules or "").split(", "))
        )
        counts = {}
        for model in models:
            records = env.get(model.model)
            if records is None or records._transient or records._abstract or not records._auto:
                continue
            counts[model.model] = records.with_context(active_test=False).search_count([])
        partners = (
            env["res.partner"]
            .with_context(active_test=False)
            .search_read([("sms_consent_state", "!=", False)], ["sms_consent_state"])
        )
        participants = env["sms.journey.participant"].search_read(
            [], ["state", "step_id", "next_action_at", "journey_id", "partner_id"]
        )
        data = {
            "counts": counts,
            "consent": {str(p["id"]): p["sms_consent_state"] for p in partners},
            "participants": {
                str(p["id"]): [
                    p["state"],
                    p["step_id"] and p["step_id"][0],
                    str(p["next_action_at"] or ""),
                    p["journey_id"] and p["journey_id"][0],
                    p["partner_id"] and p["partner_id"][0],
                ]
                for p in participants
            },
        }
    with open(args.out, "w") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    states = {}
    for participant in participants:
        states[participant["state"]] = states.get(participant["state"], 0) + 1
    print(
        f"snapshot: {len(counts)} models, {sum(counts.values())} rows, "
        f"{len(partners)} contacts with a consent state, participants {states}"
    )


def compare(args):
    with open(args.before) as before_file, open(args.after) as after_file:
        before, after = json.load(before_file), json.load(after_file)
    lost = []
    for model, count in before["counts"].items():
        if model in after["counts"] and after["counts"][model] < count:
            lost.append(f"{model}: {count} rows before, {after['counts'][model]} after")
        elif model not in after["counts"]:
            lost.append(f"{model}: gone after the upgrade ({count} rows before)")
    for key, label in (("consent", "consent state of contact"), ("participants", "participant")):
        for record_id, value in before[key].items():
            if after[key].get(record_id) != value:
                now = after[key].get(record_id)
                lost.append(f"{label} {record_id}: {value} before, {now} after")
    for line in lost:
        print(f"LOST {line}")
    print(
        f"upgrade kept {len(before['counts'])} models, {len(before['consent'])} consent states "
        f"and {len(before['participants'])} participants"
        if not lost
        else f"upgrade lost {len(lost)} facts"
    )
    return 1 if lost else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_traffic = commands.add_parser("traffic")
    add_database_arguments(run_traffic)
    take = commands.add_parser("snapshot")
    add_database_arguments(take)
    take.add_argument("--out", required=True)
    diff = commands.add_parser("compare")
    diff.add_argument("before")
    diff.add_argument("after")
    args = parser.parse_args()
    if args.command == "traffic":
        traffic(args)
    elif args.command == "snapshot":
        snapshot(args)
    else:
        sys.exit(compare(args))


if __name__ == "__main__":
    main()
