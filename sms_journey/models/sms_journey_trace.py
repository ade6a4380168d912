import re

from odoo import _, fields, models


class SmsJourneyTrace(models.Model):
    """What one step did for one participant: the SMS sent (linked to its outbox row by
    the SMS uuid), or the action done, or why it was skipped; then what the contact did
    with it (click, reply, order)."""

    _name = "sms.journey.trace"
    _description = "SMS Journey Trace"
    _order = "id desc"
    _rec_name = "step_id"

    participant_id = fields.Many2one(
        "sms.journey.participant", required=True, ondelete="cascade", index=True
    )
    journey_id = fields.Many2one(
        related="participant_id.journey_id", store=True, index=True, string="Journey"
    )
    partner_id = fields.Many2one(
        related="participant_id.partner_id", store=True, index=True, string="Contact"
    )
    step_id = fields.Many2one("sms.journey.step", ondelete="set null", index=True)
    action = fields.Selection(
        selection=lambda self: self.env["sms.journey.step"]._fields["action"].selection,
        required=True,
    )
    state = fields.Selection(
        [
            ("scheduled", "Scheduled"),
            ("sent", "SMS sent"),
            ("done", "Done"),
            ("skipped", "Skipped"),
        ],
        default="scheduled",
        required=True,
        index=True,
    )
    skip_reason = fields.Char()
    executed_at = fields.Datetime(default=fields.Datetime.now)
    body = fields.Text(readonly=True)
    sms_uuid = fields.Char("SMS reference", index="btree_not_null", readonly=True)
    outbox_message_id = fields.Many2one(
        "sms.gateway.message", "Outbox message", index="btree_not_null", readonly=True
    )
    sms_state = fields.Selection(related="outbox_message_id.state", store=True, string="SMS state")
    sms_due_at = fields.Datetime(related="outbox_message_id.due_at", string="SMS due at")
    sent_at = fields.Datetime(related="outbox_message_id.sent_at")
    delivered_at = fields.Datetime(related="outbox_message_id.delivered_at")
    cost = fields.Float(related="outbox_message_id.cost", store=True, digits=(12, 5))
    clicked_at = fields.Datetime(readonly=True)
    replied_at = fields.Datetime(readonly=True)
    reply_body = fields.Text(readonly=True)
    converted = fields.Boolean(readonly=True)
    order_id = fields.Many2one("sale.order", "Attributed order", readonly=True)

    # ------------------------------------------------------------------
    # Outcome of the step
    # ------------------------------------------------------------------

    def _skip(self, reason):
        self.write({"state": "skipped", "skip_reason": reason})

    def _done(self):
        self.write({"state": "done"})

    def _track_links(self, body):
        """Shorten the links of ``body`` with link_tracker and tie each to this trace
        (``/r/<code>/j/<trace id>``), so a click tells which SMS was clicked."""
        self.ensure_one()
        return self._track_links_batch({self.id: body})[self.id]

    def _track_links_batch(self, bodies):
        """``_track_links`` for {trace id: body}: each distinct text is shortened once
        (its trackers are shared), then each SMS gets its own trace id in the links."""
        base_url = self.participant_id.journey_id[:1].get_base_url()
        # any host: the trackers' short URLs use their own base URL (website domains)
        pattern = re.compile(r"https?://[^\s/]+/r/[A-Za-z0-9]+(?![A-Za-z0-9/])")
        shortened, result = {}, {}
        for trace in self:
            body = bodies[trace.id]
            if not body or "http" not in body:
                result[trace.id] = body
                continue
            if body not in shortened:
                vals = {"title": trace.participant_id.journey_id.name}  # no URL fetch here
                shortened[body] = (
                    self.env["mail.render.mixin"]
                    .sudo()
                    ._shorten_links_text(body, vals, base_url=base_url)
                )
            result[trace.id] = pattern.sub(
                lambda m, trace_id=trace.id: f"{m.group(0)}/j/{trace_id}", shortened[body]
            )
        return result

    def _record_sent(self, outbox, uuid, body):
        """Link the SMS ``uuid`` and its ``outbox`` row to this trace.

        A canceled outbox row (no consent, opted-out number…) skips the trace with the
        outbox's reason; a queued one — even deferred by quiet hours or caps — counts as
        sent, and its due time is returned so the next wait counts from it.
        """
        self.ensure_one()
        vals = {"body": body, "sms_uuid": uuid or False, "outbox_message_id": outbox.id}
        if outbox.state == "canceled":
            vals.update(state="skipped", skip_reason=outbox.failure_reason or outbox.error_code)
            self.write(vals)
            return None
        if not uuid:
            vals.update(state="skipped", skip_reason=_("The SMS could not be created"))
            self.write(vals)
            return None
        vals["state"] = "sent"
        self.write(vals)
        self.participant_id.last_sms_at = fields.Datetime.now()
        return outbox.due_at if outbox else None

    # ------------------------------------------------------------------
    # Reactions
    # ------------------------------------------------------------------

    def _mark_clicked(self, when=None):
        """A click on a link of this SMS: first click time, the contact's last
        interaction, then the journey's click rule."""
        when = when or fields.Datetime.now()
        for trace in self.sudo():
            if not trace.clicked_at:
                trace.clicked_at = when
            partner = trace.partner_id
            if hasattr(partner, "_sms_touch_interaction"):
                partner._sms_touch_interaction(when)
            trace.participant_id._on_click(when)

    def _mark_replied(self, interaction):
        for trace in self.sudo():
            if not trace.replied_at:
                trace.write({"replied_at": interaction.received_at, "reply_body": interaction.body})
