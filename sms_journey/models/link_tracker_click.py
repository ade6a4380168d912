from odoo import api, fields, models


class LinkTrackerClick(models.Model):
    """Clicks on journey short links (``/r/<code>/j/<trace id>``) update the trace."""

    _inherit = "link.tracker.click"

    sms_journey_trace_id = fields.Many2one(
        "sms.journey.trace", "SMS journey trace", index="btree_not_null", ondelete="set null"
    )

    @api.model
    def add_click(self, code, **route_values):
        # Trace ids are sequential: only a link that really is in that trace's SMS counts,
        # so a guessed URL can't click for somebody else.
        trace_id = route_values.get("sms_journey_trace_id")
        if trace_id:
            trace = self.env["sms.journey.trace"].sudo().browse(trace_id).exists()
            if not trace or f"/r/{code}/j/{trace.id}" not in (trace.body or ""):
                route_values["sms_journey_trace_id"] = False
        click = super().add_click(code, **route_values)
        if click and click.sms_journey_trace_id:
            click.sms_journey_trace_id._mark_clicked(fields.Datetime.now())
        return click
