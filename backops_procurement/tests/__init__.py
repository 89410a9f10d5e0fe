from . import test_procurement_status
from . import test_procurement_allocation
from . import test_procurement_odoo_links
from . import test_procurement_access
from . import test_procurement_performance
from . import test_sale_order_procurement
