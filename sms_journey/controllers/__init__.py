from . import main
from . import journey
from . import consent
from . import reply_links
