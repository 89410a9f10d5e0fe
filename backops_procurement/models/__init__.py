from . import product_template
from . import procurement_allocation
from . import sale_order_line
from . import sale_order
from . import purchase_order_line
from . import purchase_order
