from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, email_split, format_datetime

from ..tools import digest as digest_tools
from .isolation import run_isolated


class SmsInteractionDigest(models.Model):
    """A daily email of the replies to one mass SMS campaign or one journey.

    Every day at ``hour`` (company time zone) for ``days`` days after the launch, the
    recipients get the replies received since the previous digest: counts by keyword,
    the replies themselves and a link to the Interactions list. No email on days
    without new replies.
    """

    _name = "sms.interaction.digest"
    _description = "SMS Reply Digest"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        compute="_compute_name", store=True, readonly=False, required=True, precompute=True
    )
    active = fields.Boolean(default=True)
    mailing_id = fields.Many2one(
        "mailing.mailing",
        "SMS campaign",
        domain="[('mailing_type', '=', 'sms')]",
        ondelete="cascade",
        index="btree_not_null",
    )
    journey_id = fields.Many2one(
        "sms.journey", ondelete="cascade", index="btree_not_null", check_company=True
    )
    email_to = fields.Char(
        "Send to", required=True, help="Up to 5 email addresses, separated by commas."
    )
    hour = fields.Float("At", default=digest_tools.DEFAULT_HOUR, help="Company time zone.")
    days = fields.Integer("For (days)", default=digest_tools.DEFAULT_DAYS)
    date_start = fields.Datetime(
        "Launch",
        default=fields.Datetime.now,
        required=True,
        help="Digests run for the given days from here; a campaign's sent date wins.",
    )
    last_run_at = fields.Datetime("Previous digest", readonly=True, copy=False)
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, required=True
    )
    last_error = fields.Text(readonly=True, copy=False, help="Why the last digest failed.")
    finished = fields.Boolean(
        readonly=True,
        copy=False,
        index=True,
        help="Its days are over: the hourly cron no longer looks at it.",
    )

    @api.depends("mailing_id", "journey_id")
    def _compute_name(self):
        for digest in self:
            target = digest.mailing_id or digest.journey_id
            if target:
                digest.name = self.env._("Replies to %s", target.display_name)
            elif not digest.name:
                digest.name = self.env._("SMS replies")

    @api.constrains("mailing_id", "journey_id", "email_to", "hour", "days")
    def _check_values(self):
        for digest in self:
            if bool(digest.mailing_id) == bool(digest.journey_id):
                raise ValidationError(
                    self.env._("A digest follows either a campaign or a journey.")
                )
            count = len(email_split(digest.email_to or ""))
            if not 1 <= count <= digest_tools.MAX_RECIPIENTS:
                raise ValidationError(
                    self.env._(
                        "Send the digest to 1 to %s email addresses.", digest_tools.MAX_RECIPIENTS
                    )
                )
            if not 0 <= digest.hour < 24:
                raise ValidationError(self.env._("The hour must be between 00:00 and 23:59."))
            if digest.days <= 0:
                raise ValidationError(self.env._("The number of days must be positive."))

    def _start(self):
        return self.mailing_id.sent_date or self.date_start

    def _tz(self):
        return self.company_id.partner_id.tz or self.env.user.tz or "UTC"

    def _interaction_domain(self):
        """The replies the digest reports: of its journey or campaign, received on its
        company's gateways only (a campaign has no company of its own)."""
        self.ensure_one()
        company = [("company_id", "=", self.company_id.id)]
        if self.journey_id:
            return [("sms_journey_id", "=", self.journey_id.id), *company]
        # the campaign's SMS references as a subquery: the database matches them with the
        # replies of the period instead of Python reading every reference of the campaign
        trackers = (
            self.env["sms.tracker"]
            .sudo()
            ._search([("mailing_trace_id.mass_mailing_id", "=", self.mailing_id.id)])
        )
        uuids = trackers.subselect(SQL.identifier(trackers.table, "sms_uuid"))
        return [("outbox_message_id.sms_uuid", "in", uuids), *company]

    def write(self, vals):
        if {"date_start", "days", "mailing_id", "journey_id"} & set(vals):
            vals = dict(vals, finished=False)  # its days may start again
        return super().write(vals)

    @api.model
    def _cron_send_digests(self):
        """Send the digests that are due (hourly cron); those whose days are over are
        marked finished and no longer read."""
        now = fields.Datetime.now()
        finished = self.browse()
        for digest in self.search([("finished", "=", False)]):
            start = digest._start()
            if start and now > start + timedelta(days=digest.days + 1):
                finished |= digest
                continue
            slot = digest_tools.due_slot(
                now, start, digest.hour, digest._tz(), digest.days, digest.last_run_at
            )
            if slot:
                # written to addresses, not users: in the company's language
                lang = self.env["res.partner"]._sms_fallback_lang(digest.company_id)
                run_isolated(
                    digest, self.env._("Digest"), digest.with_context(lang=lang)._send, now
                )
        finished.write({"finished": True})

    def _send(self, now):
        """Email the replies since the previous digest (none if there are none)."""
        self.ensure_one()
        since = self.last_run_at or self._start()
        interactions = (
            self.env["sms.interaction"]
            .sudo()
            .search(
                self._interaction_domain()
                + [("received_at", ">", since), ("received_at", "<=", now)],
                order="received_at, id",
            )
        )
        self.last_run_at = now
        if not interactions:
            return self.env["mail.mail"]
        return (
            self.env["mail.mail"]
            .sudo()
            .create(
                {
                    "subject": self.env._(
                        "%(name)s: %(count)s new SMS replies",
                        name=self.name,
                        count=len(interactions),
                    ),
                    "body_html": self._body(interactions),
                    "email_to": self.email_to,
                    "email_from": self.company_id.email_formatted or self.env.user.email_formatted,
                    "auto_delete": True,
                }
            )
        )

    def _body(self, interactions):
        consent = dict(interactions._fields["consent_action"]._description_selection(self.env))
        no_keyword = self.env._("(no keyword)")
        keys = [
            i.matched_keyword or consent.get(i.consent_action) or no_keyword for i in interactions
        ]
        counts = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td></tr>") % (key, count)
            for key, count in digest_tools.count_by(keys)
        )
        tz = self._tz()
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (
                format_datetime(self.env, i.received_at, tz=tz, dt_format="short"),
                i.partner_id.display_name or i.number,
                i.body or "",
            )
            for i in interactions
        )
        url = f"{self.get_base_url()}/odoo/action-sms_journey.sms_interaction_action"
        return Markup(
            "<p>%s</p><table><tr><th>%s</th><th>%s</th></tr>%s</table>"
            "<table><tr><th>%s</th><th>%s</th><th>%s</th></tr>%s</table>"
            '<p><a href="%s">%s</a></p>'
        ) % (
            self.env._("%s new replies since the previous digest.", len(interactions)),
            self.env._("Keyword"),
            self.env._("Replies"),
            counts,
            self.env._("Received"),
            self.env._("From"),
            self.env._("Message"),
            rows,
            url,
            self.env._("Open the interactions"),
        )
