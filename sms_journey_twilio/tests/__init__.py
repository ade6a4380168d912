from . import test_odoo_twilio
