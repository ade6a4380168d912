from odoo import api, fields, models

# every send, click, reply and opt-out of a program's SMS, with the SMS's send time and
# the SMS it belongs to (``result_id``); ``results`` is the relation of the SMS rows, the
# filters keep the events of some SMS only (``sms.result.snapshot``)
EVENTS = """
SELECT 'sent'::varchar AS kind, r.id AS result_id, r.source, r.journey_id, r.step_id,
       r.variant_id, r.mailing_id, r.company_id, r.date AS sent_at, r.date AS event_at
  FROM %(results)s r
 WHERE r.sent = 1 AND %(result_filter)s
UNION ALL
SELECT x.kind, r.id, r.source, r.journey_id, r.step_id, r.variant_id, r.mailing_id,
       r.company_id, r.date, x.at
  FROM (
    SELECT 'click' AS kind, c.create_date AS at,
           COALESCE(c.sms_journey_trace_id * 2, c.mailing_trace_id * 2 + 1) AS result_id
      FROM link_tracker_click c
     WHERE (c.sms_journey_trace_id IS NOT NULL OR c.mailing_trace_id IS NOT NULL)
       AND %(click_filter)s
    UNION ALL
    SELECT k.kind, i.received_at,
           COALESCE(i.sms_journey_trace_id * 2, i.mailing_trace_id * 2 + 1)
      FROM sms_interaction i
      JOIN (VALUES (2, 'reply'), (3, 'opt_out')) k (n, kind)
        ON k.n = 2 OR i.consent_action = 'opt_out'
     WHERE (i.sms_journey_trace_id IS NOT NULL OR i.mailing_trace_id IS NOT NULL)
       AND %(interaction_filter)s
  ) x
  JOIN %(results)s r ON r.id = x.result_id
"""

# the same placed in the hour and the calendar day after the send (company time zone),
# counted by SMS, kind, bucket, local date and hour: the campaign report's rows of each
# SMS, which ``sms_result_event`` sums by program. The event's and the send's local
# times are converted once each (the subquery ``l``, kept apart by ``OFFSET 0``:
# flattened, each of their six uses converted again)
EVENT_FACTS = """
SELECT l.result_id, l.kind, l.source, l.journey_id, l.step_id, l.variant_id, l.mailing_id,
       l.company_id,
       CASE WHEN l.event_at >= l.sent_at
             AND l.event_at < l.sent_at + interval '24 hours'
            THEN floor(extract(epoch FROM l.event_at - l.sent_at) / 3600)::int + 1
            END AS hour_after,
       CASE WHEN l.event_at >= l.sent_at
             AND l.event_local::date - l.sent_local::date < 10
            THEN l.event_local::date - l.sent_local::date + 1
            END AS day_after,
       to_char(l.event_local, 'HH24:00') AS local_hour,
       l.event_local::date AS local_date,
       COUNT(*) AS event_count
  FROM (
    SELECT e.*, e.event_at AT TIME ZONE 'UTC' AT TIME ZONE tz.name AS event_local,
           e.sent_at AT TIME ZONE 'UTC' AT TIME ZONE tz.name AS sent_local
      FROM (%(events)s) e
      LEFT JOIN res_company co ON co.id = e.company_id
      LEFT JOIN res_partner cp ON cp.id = co.partner_id
     CROSS JOIN LATERAL (SELECT COALESCE(NULLIF(cp.tz, ''), 'UTC') AS name) tz
    OFFSET 0
  ) l
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
"""


class SmsResultEvent(models.Model):
    """The campaign report of the seeds: the sends, clicks, replies and opt-outs of a
    journey step's or an SMS mailing's SMS, placed in the hour after the send (1–24,
    over the first 24 hours) and in the calendar day after the send (1–10, over 10 days,
    in the company's time zone), so that graphs show interactions hour by hour and day
    by day with the send volume beside them.

    Each row counts the events (``event_count``) of one program (step, variant or
    mailing), kind, hour and day after the send, local date and hour: graphs and pivots
    sum it. Stored rows, kept by ``sms.result.snapshot`` from what changed since its last
    refresh (*as of* then).
    A STOP is a reply and an opt-out: it shows in both."""

    _name = "sms.result.event"
    _inherit = ["sms.result.dimension.mixin"]
    _description = "SMS campaign event"
    _auto = False
    _order = "local_date desc, local_hour desc, id desc"
    _rec_name = "kind"

    kind = fields.Selection(
        [("sent", "Sent"), ("click", "Click"), ("reply", "Reply"), ("opt_out", "Opt-out")],
        readonly=True,
    )
    event_count = fields.Integer("Events", readonly=True)
    hour_after = fields.Integer(
        "Hour after the send",
        readonly=True,
        aggregator=False,
        help="1 = within the first hour, up to 24; empty after 24 hours.",
    )
    day_after = fields.Integer(
        "Day after the send",
        readonly=True,
        aggregator=False,
        help="1 = the day of the send, up to 10, in the company's time zone.",
    )
    local_hour = fields.Char("Hour of day", readonly=True, help="In the company's time zone.")
    local_date = fields.Date("Day", readonly=True, help="In the company's time zone.")

    @api.model
    def action_refresh(self):
        """*Refresh* (list header): rebuild the results reports now."""
        return self.env["sms.result.snapshot"].action_refresh()
