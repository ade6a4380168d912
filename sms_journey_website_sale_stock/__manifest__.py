{
    "name": "SMS Journeys: back in stock",
    "summary": "The back-in-stock journey trigger on the shop's 'notify me' list "
    "(website_sale_stock) and on its own SMS requests (product page, NOTIFY <code>)",
    "version": "18.0.1.2.0",
    "category": "Marketing",
    "license": "LGPL-3",
    "author": "sms_journey",
    "website": "https://github.com/sms-journey/sms_journey",
    "depends": ["sms_journey", "website_sale_stock"],
    "data": [
        "security/ir.model.access.csv",
        "security/security.xml",
        "data/sms_keyword_rule_data.xml",
        "views/sms_journey_views.xml",
        "views/sms_back_in_stock_request_views.xml",
        "views/website_templates.xml",
    ],
    "demo": [
        "demo/sms_journey_demo.xml",
    ],
    "assets": {
        "web.assets_frontend": [
            "sms_journey_website_sale_stock/static/src/xml/back_in_stock.xml",
        ],
        "web.assets_tests": [
            "sms_journey_website_sale_stock/static/tests/tours/*.js",
        ],
    },
    "auto_install": True,
    "installable": True,
}
