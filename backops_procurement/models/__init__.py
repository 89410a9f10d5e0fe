from . import product_template
from . import res_company
from . import res_config_settings
from . import procurement_allocation
from . import sale_order_line
from . import sale_order
from . import purchase_order_line
from . import purchase_order
