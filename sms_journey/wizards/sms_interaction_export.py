import base64
import csv
import io

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.csv_safe import safe_row

CSV_COLUMNS = (
    ("received_at", "Received"),
    ("partner", "Contact"),
    ("number", "Number"),
    ("body", "Message"),
    ("keyword", "Keyword"),
    ("rule", "Keyword rule"),
    ("consent_action", "Consent"),
    ("state", "Status"),
)


class SmsInteractionExport(models.TransientModel):
    """Download replies as CSV: all of them, only the new ones (which then count as
    handled: the export is how they are passed on), or a selection."""

    _name = "sms.interaction.export"
    _description = "Export SMS replies"

    mode = fields.Selection(
        [
            ("all", "All replies"),
            ("new", "New replies (then marked handled)"),
            ("selected", "Selected replies"),
        ],
        default=lambda self: "selected" if self._default_interaction_ids() else "new",
        required=True,
    )
    interaction_ids = fields.Many2many(
        "sms.interaction", string="Replies", default=lambda self: self._default_interaction_ids()
    )
    attachment_id = fields.Many2one("ir.attachment", readonly=True)

    @api.model
    def _default_interaction_ids(self):
        if self.env.context.get("active_model") == "sms.interaction":
            return self.env["sms.interaction"].browse(self.env.context.get("active_ids") or [])
        return self.env["sms.interaction"]

    def _interactions(self):
        self.ensure_one()
        model = self.env["sms.interaction"]
        if self.mode == "selected":
            return self.interaction_ids
        domain = [("state", "=", "new")] if self.mode == "new" else []
        return model.search(domain, order="received_at, id")

    @api.model
    def _csv_rows(self, interactions):
        selection = dict(interactions._fields["consent_action"]._description_selection(self.env))
        states = dict(interactions._fields["state"]._description_selection(self.env))
        for interaction in interactions.sorted(lambda i: (i.received_at, i.id)):
            # reply bodies and names come from outside: no cell may run as a formula
            yield safe_row(
                {
                    "received_at": fields.Datetime.to_string(interaction.received_at),
                    "partner": interaction.partner_id.display_name or "",
                    "number": interaction.number,
                    "body": interaction.body or "",
                    "keyword": interaction.matched_keyword or "",
                    "rule": interaction.matched_rule_id.name or "",
                    "consent_action": selection.get(interaction.consent_action, ""),
                    "state": states.get(interaction.state, ""),
                }
            )

    def action_export(self):
        """Build the CSV as an attachment and download it."""
        self.ensure_one()
        interactions = self._interactions()
        if not interactions:
            raise UserError(self.env._("There are no replies to export."))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[key for key, _label in CSV_COLUMNS])
        writer.writerow(dict(CSV_COLUMNS))
        writer.writerows(self._csv_rows(interactions))
        name = f"sms_replies_{fields.Datetime.now():%Y%m%d_%H%M%S}.csv"
        self.attachment_id = self.env["ir.attachment"].create(
            {
                "name": name,
                "datas": base64.b64encode(buffer.getvalue().encode("utf-8-sig")),
                "mimetype": "text/csv",
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        if self.mode == "new":
            interactions.action_mark_handled()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "self",
        }
