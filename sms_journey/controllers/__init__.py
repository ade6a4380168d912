from . import main
from . import journey
