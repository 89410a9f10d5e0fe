from . import line_item_editor
from . import rfq_create
from . import approval_reject
from . import backorder_fill_order
from . import force_backorder
from . import receive
from . import backorder_replenish
from . import base_partner_merge
