from . import test_odoo_twilio
from . import test_twilio_legal_hold
