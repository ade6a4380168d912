from . import test_install
from . import test_consent
from . import test_outbox
from . import test_webhooks
