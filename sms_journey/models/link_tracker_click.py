from odoo import api, fields, models


class LinkTrackerClick(models.Model):
    """Clicks on journey short links (``/r/<code>/j/<trace id>``) update the trace."""

    _inherit = "link.tracker.click"

    sms_journey_trace_id = fields.Many2one(
        "sms.journey.trace", "SMS journey trace", index="btree_not_null", ondelete="set null"
    )

    def _prepare_click_values_from_route(self, **route_values):
        values = super()._prepare_click_values_from_route(**route_values)
        trace_id = values.get("sms_journey_trace_id")
        if trace_id and not self.env["sms.journey.trace"].sudo().browse(trace_id).exists():
            values["sms_journey_trace_id"] = False
        return values

    @api.model
    def add_click(self, code, **route_values):
        click = super().add_click(code, **route_values)
        if click and click.sms_journey_trace_id:
            click.sms_journey_trace_id._mark_clicked(fields.Datetime.now())
        return click
