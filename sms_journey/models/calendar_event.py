from odoo import api, models
from odoo.tools import plaintext2html


class CalendarEvent(models.Model):
    """Appointments answered by SMS: C(onfirm), A (cancel), R(eschedule).

    calendar_sms posts its reminders on the event, so the outbox row of a reminder points
    (through its chatter message) to the event: that is how a reply finds its appointment.
    """

    _inherit = "calendar.event"

    @api.model
    def _sms_find_appointment(self, interaction, limit=50):
        """The upcoming event the contact of ``interaction`` is invited to and got our
        latest SMS reminder for, or an empty recordset."""
        partner = interaction.partner_id
        if not partner:
            return self.browse()
        domain = [
            ("state", "in", ("sent", "delivered")),
            ("mail_message_id.model", "=", "calendar.event"),
            "|",
            ("partner_id", "=", partner.id),
            ("number", "=", interaction.number),
        ]
        reminders = (
            self.env["sms.gateway.message"]
            .sudo()
            .search(domain, order="sent_at desc, id desc", limit=limit)
        )
        now = interaction.received_at
        events = self.sudo().browse(reminders.mail_message_id.mapped("res_id")).exists()
        for event in events:  # browse keeps the order: latest reminder first
            if event.stop >= now and partner in event.attendee_ids.partner_id:
                return event
        return self.browse()

    def _sms_attendee(self, partner):
        self.ensure_one()
        return self.attendee_ids.filtered(lambda a: a.partner_id == partner)[:1]

    def _sms_answer(self, interaction, batch, answer):
        """Apply a contact's SMS answer (``confirm``, ``cancel``, ``reschedule``); the
        reply to the contact is an answer of ``batch``."""
        self.ensure_one()
        partner = interaction.partner_id
        attendee = self._sms_attendee(partner)
        quote = plaintext2html(interaction.body or "")
        company = interaction.company_id or self.env.company
        brand = company.sms_brand_name or company.name
        when = self.get_display_time_tz(partner.tz)
        if answer == "confirm":
            attendee.do_accept()  # posts “… has accepted the invitation” on the event
            reply = self.env._(
                "%(brand)s: thank you, your appointment of %(when)s is confirmed.",
                brand=brand,
                when=when,
            )
        elif answer == "cancel":
            attendee.do_decline()
            reply = self.env._(
                "%(brand)s: your appointment of %(when)s is canceled.", brand=brand, when=when
            )
        elif answer == "reschedule":
            organizer = self.user_id or self.env.user
            partner.activity_schedule(
                "mail.mail_activity_data_call",
                summary=self.env._("Reschedule “%s”", self.name),
                note=self.env._(
                    "Asked by SMS to reschedule %(event)s (%(when)s).",
                    event=self.name,
                    when=self.display_time,
                )
                + quote,
                user_id=organizer.id,
            )
            self.message_post(
                body=self.env._("%s asked by SMS to reschedule.", partner.name) + quote,
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            reply = self.env._("%(brand)s: we will contact you to find a new time.", brand=brand)
        else:
            raise ValueError(answer)
        interaction._reply(batch, reply)
