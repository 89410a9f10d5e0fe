{
    "name": "BackOps Procurement",
    "summary": "Turn confirmed sales into purchasing work and follow every unit "
    "from the customer's need to the vendor's RFQ, receipt and delivery",
    "version": "18.0.1.0.0",
    "category": "Inventory/Purchase",
    "website": "https://github.com/backops/backops_procurement",
    "author": "BackOps",
    "license": "LGPL-3",
    "depends": ["sale_purchase_stock"],
    "data": [
        "security/backops_procurement_security.xml",
        "security/ir.model.access.csv",
        "views/product_template_views.xml",
        "views/sale_order_line_views.xml",
        "views/sale_order_views.xml",
        "views/purchase_order_views.xml",
        "views/procurement_allocation_views.xml",
        "views/backops_procurement_menus.xml",
    ],
    "demo": [
        "demo/backops_procurement_demo.xml",
    ],
    "application": True,
    "installable": True,
}
