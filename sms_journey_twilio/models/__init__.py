from . import (
    res_company,
    res_config_settings,
    sms_gateway,
    sms_sender,
    sms_sms,
    sms_twilio_number,
)
