from odoo import fields, models


class SmsInteraction(models.Model):
    """Tie inbound SMS to the journey SMS they answer and apply the exit rules."""

    _inherit = "sms.interaction"

    sms_journey_participant_id = fields.Many2one(
        "sms.journey.participant", "Journey participant", readonly=True, index="btree_not_null"
    )
    sms_journey_id = fields.Many2one(
        "sms.journey", "Journey", readonly=True, index="btree_not_null"
    )

    def _after_receive(self):
        result = super()._after_receive()
        Trace = self.env["sms.journey.trace"].sudo()
        Participant = self.env["sms.journey.participant"].sudo()
        for interaction in self:
            trace = Trace
            if interaction.outbox_message_id:
                trace = Trace.search(
                    [("sms_uuid", "=", interaction.outbox_message_id.sms_uuid)], limit=1
                )
            if not trace and interaction.partner_id:
                participant = Participant.search(
                    [("partner_id", "=", interaction.partner_id.id), ("state", "=", "running")],
                    order="id desc",
                    limit=1,
                )
                trace = participant._previous_sms_trace() if participant else Trace
            if not trace and interaction.number:
                # an unknown or ambiguous sender: the latest journey SMS to that number
                trace = Trace.search(
                    [
                        ("state", "=", "sent"),
                        ("outbox_message_id.number", "=", interaction.number),
                        ("participant_id.state", "=", "running"),
                    ],
                    order="id desc",
                    limit=1,
                )
            if trace:
                trace._mark_replied(interaction)
                interaction.write(
                    {
                        "sms_journey_participant_id": trace.participant_id.id,
                        "sms_journey_id": trace.journey_id.id,
                    }
                )
                partner = trace.partner_id
                if hasattr(partner, "_sms_touch_interaction"):
                    partner._sms_touch_interaction(interaction.received_at)
            if interaction.consent_action == "opt_out":
                # the number opted out: every contact sharing it leaves, not only the
                # one the reply was matched to
                partners = interaction.partner_id | trace.partner_id
                partners |= (
                    self.env["res.partner"].sudo()._sms_partners_for_number(interaction.number)
                )
                Participant.search(
                    [("partner_id", "in", partners.ids), ("state", "=", "running")]
                )._on_stop()
        return result
