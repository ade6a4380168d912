from . import mailing_sms_test
from . import sms_gateway_test
from . import sms_sandbox_reply
from . import sms_journey_preview
from . import sms_composer
from . import sms_interaction_export
from . import sms_survey_send
from . import sms_conversation_link
