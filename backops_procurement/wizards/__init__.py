from . import line_item_editor
from . import rfq_create
from . import approval_reject
