def post_init_hook(env):
    """The inbound anchor of every company already sending through Odoo's Twilio."""
    companies = env["res.company"].sudo().search([("sms_provider", "=", "twilio")])
    for company in companies:
        company._sms_journey_twilio_gateway()
