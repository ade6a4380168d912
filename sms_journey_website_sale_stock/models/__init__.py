from . import product_template
from . import res_partner
from . import sms_back_in_stock_request
from . import sms_journey
from . import sms_keyword_rule_action
