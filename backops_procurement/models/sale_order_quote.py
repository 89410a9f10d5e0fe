from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import without_client_context


class SaleOrder(models.Model):
    """Quotes: the prices the customer was quoted, and orders created from a quote
    that stays as it is (a standing quote used many times)."""

    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Quoted prices: sent, printed, or at confirmation
    # ------------------------------------------------------------------
    def write(self, vals):
        res = super().write(vals)
        # on every path to a confirmed order (action_confirm, a write of the state)
        if vals.get("state") == "sale":
            self._backops_record_quoted_prices(only_missing=True)
        return res

    def action_quotation_sent(self):
        self._backops_record_quoted_prices()
        return super().action_quotation_sent()

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        # Odoo's quotation mail (the composer of action_quotation_send) marks the
        # quotation sent through this context key: the customer gets these prices
        if self.env.context.get("mark_so_as_sent"):
            self._backops_record_quoted_prices()
        return super().message_post(**kwargs)

    def _backops_record_quoted_prices(self, only_missing=False, lines=None):
        """Record the current unit prices of the quotations in ``self`` as quoted.

        ``only_missing``: only on lines never quoted (confirmation), which take the
        price of the same product on the quote the order was created from, or their
        own. Without it (sent, printed), only quotations (draft, sent) are recorded:
        a confirmed order keeps what it was quoted. ``lines`` restricts to those."""
        orders = self if only_missing else self.filtered(lambda order: order.state in ("draft", "sent"))
        lines = (lines or orders.order_line).filtered(lambda line: line.order_id in orders)._backops_is_priced_line()
        if only_missing:
            lines = lines.filtered(lambda line: not line.backops_quoted_date)
        if not lines:
            return
        quote_prices = lines.order_id._backops_ref_quote_prices()
        by_price = defaultdict(lambda: self.env["sale.order.line"])
        for line in lines:
            price = line.price_unit
            if only_missing:
                price = quote_prices.get((line.order_id, line.product_id), price)
            elif line.backops_quoted_date and line.backops_quoted_price_unit == price:
                continue
            by_price[price] |= line
        now = fields.Datetime.now()
        for price, price_lines in by_price.items():
            # sudo: the quoted price is not writable by users (it is what the customer
            # was shown); recording it is part of sending, printing or confirming,
            # which the user is doing
            price_lines.sudo().write({"backops_quoted_price_unit": price, "backops_quoted_date": now})

    def _backops_ref_quote_prices(self):
        """{(order, product): quoted unit price} of the quote each order of ``self`` was
        created from (its first line of the product), for orders created from one."""
        prices = {}
        for order in self.filtered(
            lambda order: order.backops_ref_order_id.backops_order_type in ("order", "recurring")
        ):
            for quote_line in order.backops_ref_order_id.order_line._backops_is_priced_line().sorted(
                lambda line: (line.sequence, line.id), reverse=True
            ):
                prices[order, quote_line.product_id] = quote_line._backops_quoted_or_current_price()
        return prices

    # ------------------------------------------------------------------
    # Create Order from Quote
    # ------------------------------------------------------------------
    def action_backops_create_order(self):
        """A new quotation copied from this quote (Odoo's copy), linked to it by the
        Ref Order and carrying the prices the quote gives; the quote stays as it is."""
        self.ensure_one()
        self._check_backops_create_order_allowed()
        quote = without_client_context(self)
        order = quote.copy()
        order._backops_link_ref_order(quote)
        quote_lines = quote._get_copiable_order_lines()._backops_is_priced_line()
        new_lines = order.order_line._backops_is_priced_line()
        # Odoo's copy keeps the lines' order: the n-th priced line is the n-th's copy
        for quote_line, new_line in zip(quote_lines, new_lines, strict=True):
            # sudo: quoted prices are not writable by users; these are the quote's
            new_line.sudo().write(
                {
                    "backops_quoted_price_unit": quote_line._backops_quoted_or_current_price(),
                    "backops_quoted_date": quote_line.backops_quoted_date or fields.Datetime.now(),
                }
            )
        action = self._backops_orders_action(order)
        action["context"] = {}
        return action

    def _check_backops_create_order_allowed(self):
        if not self.env.su and not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(self.env._("Only sales users can create an order from a quote."))
        self.check_access("read")
        self.env["sale.order"].check_access("create")
        if self.state not in ("draft", "sent") or self.backops_order_type != "order":
            raise UserError(
                self.env._(
                    "Create Order from Quote is for quotations (draft or sent) of type Order; %(order)s is not one.",
                    order=self.display_name,
                )
            )


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _backops_quoted_or_current_price(self):
        self.ensure_one()
        return self.backops_quoted_price_unit if self.backops_quoted_date else self.price_unit
