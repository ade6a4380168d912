from . import sms_journey
