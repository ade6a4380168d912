from . import test_back_in_stock
from . import test_back_in_stock_request
