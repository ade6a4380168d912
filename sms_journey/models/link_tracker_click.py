from odoo import api, fields, models


class LinkTrackerClick(models.Model):
    """Clicks on journey short links (``/r/<code>/j/<trace id>/<signature>``) update the
    trace; clicks on SMS mailing links count on their mailing trace."""

    _inherit = "link.tracker.click"

    sms_journey_trace_id = fields.Many2one(
        "sms.journey.trace", "SMS journey trace", index="btree_not_null", ondelete="set null"
    )

    @api.model
    def add_click(self, code, **route_values):
        # Trace ids are sequential and a batch shares its short codes: only a link signed
        # for that code and trace counts for the trace, so an edited id clicks for nobody.
        signature = route_values.pop("sms_journey_signature", None)
        trace_id = route_values.get("sms_journey_trace_id")
        if trace_id:
            Trace = self.env["sms.journey.trace"].sudo()
            if not (
                Trace._check_link_signature(code, trace_id, signature)
                and Trace.browse(trace_id).exists()
            ):
                route_values["sms_journey_trace_id"] = False
        click = super().add_click(code, **route_values)
        if click and click.sms_journey_trace_id:
            click.sms_journey_trace_id._mark_clicked(fields.Datetime.now())
        if click and click.mailing_trace_id.trace_type == "sms":
            click.mailing_trace_id.sudo().sms_click_count += 1
        return click
