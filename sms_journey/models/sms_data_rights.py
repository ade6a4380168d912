import base64
import logging

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools import data_rights
from ..tools.phone import try_normalize
from .sms_gateway_message import _testing

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "sms_journey.group_sms_journey_manager"

# What we hold about a contact, model by model: (file name in the export, model, the
# field naming the contact or None, the field holding its number or None, the path to
# the row's company or None when the row is not a company's). A model added to the addon
# with data about a contact belongs here (export) and in _erase_rows.
SOURCES = [
    ("consent_log", "sms.consent.log", "partner_id", "number", None),
    ("sms_outbox", "sms.gateway.message", "partner_id", "number", "company_id"),
    ("sms_odoo_queue", "sms.sms", "partner_id", "number", None),
    ("sms_received", "sms.interaction", "partner_id", "number", "company_id"),
    ("sms_received_parts", "sms.inbound.part", None, "sender", "gateway_id.company_id"),
    ("mailing_sms_traces", "mailing.trace", None, "sms_number", None),
    ("journeys", "sms.journey.participant", "partner_id", None, "journey_id.company_id"),
    ("journey_traces", "sms.journey.trace", "partner_id", None, "journey_id.company_id"),
    ("survey_requests", "sms.survey.request", "partner_id", "number", "question_id.company_id"),
    ("survey_answers", "sms.survey.answer", "partner_id", None, "company_id"),
    ("contest_entries", "sms.contest.entry", "partner_id", "number", "contest_id.company_id"),
    ("data_rights_log", "sms.data.rights.log", "partner_id", None, None),
]

# how long an export zip is kept for the manager to download it
EXPORT_LIFETIME = relativedelta(days=7)


class SmsDataRights(models.AbstractModel):
    """A contact's rights on their SMS data: access (export), erasure, and the retention
    of SMS texts.

    - :meth:`_export_archive`: everything our models hold about a contact (rows naming
      the contact or one of its numbers, see :data:`SOURCES`) as JSON + CSV in a zip.
    - :meth:`_erase`: the contact's SMS texts replaced by :data:`tools.data_rights.ERASED`,
      numbers by their keyed hash, running journeys exited; the consent log keeps what
      proves an opt-out (hashed number, date, action, scope, source), the rest is blanked.
    - :meth:`_cron_purge_expired`: texts older than each company's retention replaced the
      same way, in committed batches; counts, costs and states (the results) are kept.

    Erasing and purging write with SQL (:meth:`_erase_rows`, :meth:`_purge_batch`): the
    one sanctioned exception to the models that refuse writes (the append-only consent
    log, the immutable texts of replies), because erasure is the legal obligation that
    overrides their immutability. The ORM cache is invalidated afterwards. Callers check
    the rights (``res.partner.action_sms_*_data``); these methods trust their caller.
    """

    _name = "sms.data.rights"
    _description = "SMS data rights"

    # ------------------------------------------------------------------
    # Who and what
    # ------------------------------------------------------------------

    @api.model
    def _check_manager(self):
        """Data rights are an SMS manager's job: raise for anyone else (the buttons are
        hidden too, but a JSON-RPC call reaches the method)."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only SMS managers can export or erase a contact's SMS data.")
            )

    @api.model
    def _number_hash(self, number):
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        return data_rights.number_hash(secret, try_normalize(number) or number)

    @api.model
    def _partner_numbers(self, partner):
        """The E.164 numbers of ``partner``, as its conversation reads them."""
        return self.env["sms.conversation.message"]._conversation_numbers(partner)

    @api.model
    def _rows_of(self, source, partner, numbers):
        """The rows of ``source`` (a line of :data:`SOURCES`) about ``partner`` (by contact
        or by number), in the companies of the current user (the consent log, Odoo's SMS
        queue and mailing traces belong to no company)."""
        _file, model_name, partner_field, number_field, company_path = source
        model = self.env[model_name].sudo().with_context(active_test=False)
        matches = []
        if partner_field:
            matches.append([(partner_field, "=", partner.id)])
        if number_field and numbers:
            matches.append([(number_field, "in", numbers)])
        if not matches:
            return model.browse()
        domain = matches[0] if len(matches) == 1 else ["|", *matches[0], *matches[1]]
        if company_path:
            domain = [(company_path, "in", [False, *self.env.user.company_ids.ids]), *domain]
        return model.search(domain, order="id")

    # ------------------------------------------------------------------
    # Access (art. 15)
    # ------------------------------------------------------------------

    @api.model
    def _export_columns(self, model):
        return [
            name
            for name, field in model._fields.items()
            if field.store and field.type not in ("binary", "one2many", "many2many")
        ]

    @api.model
    def _export_archive(self, partner):
        """The zip (bytes) of everything we hold about ``partner``'s SMS."""
        partner.ensure_one()
        numbers = self._partner_numbers(partner)
        sections = [
            (
                "contact",
                ["id", "name", "phone", "mobile", "phone_sanitized", "sms_consent_state"],
                partner.sudo().read(
                    ["name", "phone", "mobile", "phone_sanitized", "sms_consent_state"]
                ),
            )
        ]
        for source in SOURCES:
            name, model_name = source[:2]
            if model_name not in self.env:
                continue
            rows = self._rows_of(source, partner, numbers)
            columns = self._export_columns(rows)
            sections.append((name, columns, rows.read(columns)))
        readme = self.env._(
            "SMS data of %(name)s (numbers: %(numbers)s), exported on %(date)s.\n"
            "One JSON and one CSV file per kind of data: the consent log with its proofs, "
            "every SMS sent (outbox, Odoo's SMS queue, SMS mailings) and received, the "
            "journeys and their steps, survey requests and answers, contest entries, and "
            "the log of exports and erasures.\n",
            name=partner.display_name,
            numbers=", ".join(numbers) or "-",
            date=fields.Datetime.to_string(fields.Datetime.now()),
        )
        return data_rights.build_archive(sections, readme)

    @api.model
    def _export(self, partner):
        """Export ``partner``'s SMS data: the zip is attached to a new data rights log row
        (so only SMS managers can read it) and its download URL returned."""
        archive = self._export_archive(partner)
        log = self._log(partner, "export", self.env._("%s bytes", len(archive)))
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": f"sms_data_{partner.id}_{fields.Date.today()}.zip",
                    "datas": base64.b64encode(archive),
                    "mimetype": "application/zip",
                    "res_model": log._name,
                    "res_id": log.id,
                }
            )
        )
        return f"/web/content/{attachment.id}?download=true"

    @api.model
    def _log(self, partner, kind, summary):
        return (
            self.env["sms.data.rights.log"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "kind": kind,
                    "user_id": self.env.uid,
                    "summary": summary,
                }
            )
        )

    # ------------------------------------------------------------------
    # Erasure (art. 17)
    # ------------------------------------------------------------------

    @api.model
    def _erase(self, partner):
        """Erase ``partner``'s SMS data (see the class docstring); returns {model: rows}."""
        partner.ensure_one()
        numbers = self._partner_numbers(partner)
        rows = {
            source[1]: self._rows_of(source, partner, numbers)
            for source in SOURCES
            if source[1] in self.env and source[1] != "sms.data.rights.log"
        }
        participants = rows["sms.journey.participant"].filtered(lambda p: p.state == "running")
        participants._exit(self.env._("SMS data erased on request"))
        self.env.flush_all()
        self._erase_rows(partner, rows)
        counts = {name: len(records) for name, records in rows.items() if records}
        self._log(
            partner,
            "erase",
            "\n".join(f"{name}: {count}" for name, count in sorted(counts.items())),
        )
        return counts

    @api.model
    def _erase_rows(self, partner, rows):
        """Overwrite the texts and numbers of ``rows`` ({model: records}) in SQL.

        The sanctioned exception to write-protected models (consent log, replies): see
        the class docstring. Numbers become their keyed hash (one UPDATE per distinct
        number), texts the marker; the consent log keeps action, scope, source and date.
        """
        cr = self.env.cr
        erased = data_rights.ERASED
        hash_numbers, blank = self._erase_hashing, self._erase_blanking
        outbox, received = rows["sms.gateway.message"], rows["sms.interaction"]
        blank(outbox, {"body": erased})
        hash_numbers(outbox, "number")
        blank(rows["sms.sms"], {"body": erased})
        hash_numbers(rows["sms.sms"], "number")
        blank(received, {"body": erased, "media_urls": None, "web_proof": None})
        hash_numbers(received, "number")
        traces = rows["sms.journey.trace"] | self.env["sms.journey.trace"].sudo().search(
            [("outbox_message_id", "in", outbox.ids)]
        )
        blank(traces, {"body": erased, "reply_body": erased})
        answers = rows["sms.survey.answer"] | self.env["sms.survey.answer"].sudo().search(
            [("interaction_id", "in", received.ids)]
        )
        blank(answers, {"value": erased})
        hash_numbers(rows["sms.survey.request"], "number")
        hash_numbers(rows["sms.contest.entry"], "number")
        if "mailing.trace" in rows:
            hash_numbers(rows["mailing.trace"], "sms_number")
        if rows["sms.inbound.part"]:
            cr.execute(
                SQL("DELETE FROM sms_inbound_part WHERE id = ANY(%s)", rows["sms.inbound.part"].ids)
            )
        # the consent log keeps the proof of an opt-out: hashed number, date, action,
        # scope, source (legal obligation); the free-text proof (IP, user agent) goes
        consent_log = rows["sms.consent.log"]
        blank(consent_log, {"proof": None})
        hash_numbers(consent_log, "number")
        cr.execute(SQL("UPDATE res_partner SET sms_consent_proof = NULL WHERE id = %s", partner.id))
        # the chatter copies of the SMS (the conversation widget shows them)
        self._erase_chatter(partner, outbox, received, rows["sms.sms"])
        self.env.invalidate_all()

    @api.model
    def _erase_hashing(self, records, column):
        """Overwrite the numbers in ``column`` of ``records`` with their keyed hash (one
        UPDATE per distinct number; hashed ones stay as they are)."""
        if not records:
            return
        values = {value for value in records.mapped(column) if value}
        for value in values - {v for v in values if data_rights.is_hashed(v)}:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s = %s WHERE id = ANY(%s) AND %s = %s",
                    SQL.identifier(records._table),
                    SQL.identifier(column),
                    self._number_hash(value),
                    records.ids,
                    SQL.identifier(column),
                    value,
                )
            )

    @api.model
    def _erase_blanking(self, records, assignments):
        """Overwrite the columns of ``records`` that hold something with the values of
        ``assignments`` ({column: value}), in one UPDATE."""
        if records:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s WHERE id = ANY(%s)",
                    SQL.identifier(records._table),
                    SQL(", ").join(
                        SQL(
                            "%s = CASE WHEN %s IS NULL THEN NULL ELSE %s END",
                            SQL.identifier(column),
                            SQL.identifier(column),
                            value,
                        )
                        for column, value in assignments.items()
                    ),
                    records.ids,
                )
            )

    @api.model
    def _erase_chatter(self, partner, outbox, received, sms):
        """The SMS texts on the chatter: the messages our rows point to, and SMS
        notifications to the contact (SMS sent through Odoo's IAP service)."""
        cr = self.env.cr
        message_ids = set((outbox.mail_message_id | received.mail_message_id).ids)
        message_ids.update(sms.mapped("mail_message_id").ids)
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("notification_type", "=", "sms"),
                    ("res_partner_id", "=", partner.id),
                    (
                        "mail_message_id.record_company_id",
                        "in",
                        [False, *self.env.user.company_ids.ids],
                    ),
                ]
            )
        )
        message_ids.update(
            notifications.mail_message_id.filtered(lambda m: m.message_type == "sms").ids
        )
        if message_ids:
            cr.execute(
                SQL(
                    "UPDATE mail_message SET body = %s WHERE id = ANY(%s)",
                    f"<p>{data_rights.ERASED}</p>",
                    sorted(message_ids),
                )
            )
        numbers = {n for n in notifications.mapped("sms_number") if n}
        for number in numbers:
            cr.execute(
                SQL(
                    "UPDATE mail_notification SET sms_number = %s WHERE id = ANY(%s) "
                    "AND sms_number = %s",
                    self._number_hash(number),
                    notifications.ids,
                    number,
                )
            )

    # ------------------------------------------------------------------
    # Retention
    # ------------------------------------------------------------------

    @api.model
    def _purge_jobs(self, company, cutoff):
        """(table, condition, assignments) of the rows of ``company`` older than
        ``cutoff`` whose texts are still there; numbers are hashed where the row is not
        a consent proof (the consent log is never purged)."""
        erased = data_rights.ERASED
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")

        def hashed(column):
            return SQL(
                data_rights.NUMBER_HASH_SQL,
                data_rights.HASH_PREFIX,
                secret,
                SQL.identifier(column),
            )

        def not_hashed(column):
            return SQL("%s NOT LIKE %s", SQL.identifier(column), data_rights.HASH_PREFIX + "%")

        return [
            (
                "sms_gateway_message",
                SQL(
                    "company_id = %s AND COALESCE(sent_at, due_at) < %s "
                    "AND state NOT IN ('queued', 'sending', 'review') AND %s",
                    company.id,
                    cutoff,
                    not_hashed("number"),
                ),
                SQL(
                    "body = CASE WHEN body IS NULL THEN NULL ELSE %s END, number = %s",
                    erased,
                    hashed("number"),
                ),
            ),
            (
                "sms_interaction",
                SQL(
                    "company_id = %s AND received_at < %s "
                    "AND pipeline_state NOT IN ('received', 'processing') "
                    "AND %s",
                    company.id,
                    cutoff,
                    not_hashed("number"),
                ),
                SQL(
                    "body = CASE WHEN body IS NULL THEN NULL ELSE %s END, media_urls = NULL, "
                    "web_proof = NULL, number = %s",
                    erased,
                    hashed("number"),
                ),
            ),
            (
                "sms_journey_trace",
                SQL(
                    "journey_id IN (SELECT id FROM sms_journey WHERE company_id = %s) "
                    "AND executed_at < %s AND ((body IS NOT NULL AND body != %s) "
                    "OR (reply_body IS NOT NULL AND reply_body != %s))",
                    company.id,
                    cutoff,
                    erased,
                    erased,
                ),
                SQL(
                    "body = CASE WHEN body IS NULL THEN NULL ELSE %s END, "
                    "reply_body = CASE WHEN reply_body IS NULL THEN NULL ELSE %s END",
                    erased,
                    erased,
                ),
            ),
        ]

    @api.model
    def _purge_odoo_sms_job(self, cutoff):
        """Odoo's SMS queue (``sms.sms``, sent ones are deleted by Odoo; failed and
        canceled ones stay) older than ``cutoff``: texts and numbers, as ``_purge_jobs``."""
        erased = data_rights.ERASED
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        return (
            "sms_sms",
            SQL(
                "create_date < %s AND state NOT IN ('outgoing', 'process', 'pending') "
                "AND number IS NOT NULL AND number NOT LIKE %s",
                cutoff,
                data_rights.HASH_PREFIX + "%",
            ),
            SQL(
                "body = CASE WHEN body IS NULL THEN NULL ELSE %s END, number = %s",
                erased,
                SQL(data_rights.NUMBER_HASH_SQL, data_rights.HASH_PREFIX, secret, SQL("number")),
            ),
        )

    @api.model
    def _purge_batch(self, table, condition, assignments, batch_size):
        """Purge up to ``batch_size`` rows of one job; returns how many. SQL: see the class
        docstring (the replies' texts refuse ORM writes)."""
        return len(
            self.env.execute_query(
                SQL(
                    """UPDATE %(table)s SET %(assignments)s
                        WHERE id IN (SELECT id FROM %(table)s WHERE %(condition)s
                                      ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                    RETURNING id""",
                    table=SQL.identifier(table),
                    assignments=assignments,
                    condition=condition,
                    limit=batch_size,
                )
            )
        )

    @api.model
    def _cron_purge_expired(self, batch_size=1000):
        """Daily: replace the texts (and numbers) of SMS older than each company's
        retention (``sms_retention_months``, 0 keeps them), batch by batch, and drop
        export zips older than :data:`EXPORT_LIFETIME`. Rows, states, counts and costs
        stay: the results read those, not the texts."""
        self.env.flush_all()
        now = fields.Datetime.now()
        jobs = []
        companies = self.env["res.company"].sudo().search([])
        for company in companies.filtered("sms_retention_months"):
            cutoff = now - relativedelta(months=company.sms_retention_months)
            jobs.extend(self._purge_jobs(company, cutoff))
        if all(companies.mapped("sms_retention_months")):
            # Odoo's sms.sms belong to no company: the longest retention applies
            cutoff = now - relativedelta(months=max(companies.mapped("sms_retention_months")))
            jobs.append(self._purge_odoo_sms_job(cutoff))
        remaining = 0
        for table, condition, _assignments in jobs:
            remaining += self.env.execute_query(
                SQL("SELECT COUNT(*) FROM %s WHERE %s", SQL.identifier(table), condition)
            )[0][0]
        auto_commit = not _testing()
        done = 0
        for table, condition, assignments in jobs:
            while purged := self._purge_batch(table, condition, assignments, batch_size):
                done += purged
                remaining = max(remaining - purged, 0)
                if auto_commit:
                    # each batch is kept: a long purge holds no lock for long and resumes
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        self.env["ir.attachment"].sudo().search(
            [
                ("res_model", "=", "sms.data.rights.log"),
                ("create_date", "<", now - EXPORT_LIFETIME),
            ]
        ).unlink()
        self.env.invalidate_all()
        _logger.info("SMS retention: %s rows purged", done)
        return done
