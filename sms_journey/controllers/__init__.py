from . import main
from . import journey
from . import consent
