from . import procurement_export
