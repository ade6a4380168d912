"""18.0.1.4.0: each customer's rhythm (issue 25), new customer facts.

The new columns are empty on an upgraded database: the backfill job rebuilds every
contact's facts from its history in committed batches (the order facts, unchanged,
are only rewritten where they differ), after the priors of one-order customers are
computed from the orders."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.partner"]._sms_facts_backfill_start()
