{
    "name": "SMS Journeys on Odoo's Twilio",
    "summary": "sms_journey on the Twilio account of Odoo's sms_twilio: replies, STOP and "
    "automatic answers through it, one choice of SMS transport in the settings",
    "version": "18.0.1.1.0",
    "category": "Marketing",
    "license": "LGPL-3",
    "author": "sms_journey",
    "website": "https://github.com/sms-journey/sms_journey",
    "depends": ["sms_journey", "sms_twilio"],
    "data": [
        "views/res_config_settings_views.xml",
    ],
    "post_init_hook": "post_init_hook",
    "auto_install": True,
    "installable": True,
}
