{
    "name": "SMS Journeys: back in stock",
    "summary": "The back-in-stock journey trigger on the shop's 'notify me' list "
    "(website_sale_stock)",
    "version": "18.0.1.0.0",
    "category": "Marketing",
    "license": "LGPL-3",
    "author": "sms_journey",
    "website": "https://github.com/sms-journey/sms_journey",
    "depends": ["sms_journey", "website_sale_stock"],
    "data": [
        "views/sms_journey_views.xml",
    ],
    "demo": [
        "demo/sms_journey_demo.xml",
    ],
    "auto_install": True,
    "installable": True,
}
