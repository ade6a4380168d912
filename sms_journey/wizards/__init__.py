from . import sms_gateway_test
from . import sms_sandbox_reply
