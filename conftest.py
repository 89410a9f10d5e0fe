"""pytest-odoo runs the suite without Odoo's HTTP server, which ``HttpCase`` tests (the
browser tours of tests/test_tours.py) need: they are left out here and run by Odoo's
own test runner, which `make test` starts after pytest (scripts/backops.sh)."""


def pytest_collection_modifyitems(config, items):
    from odoo.tests import HttpCase  # noqa: PLC0415 - pytest-odoo has loaded Odoo by now

    def is_http_case(item):
        cls = getattr(item, "cls", None)
        return cls is not None and issubclass(cls, HttpCase)

    browser_tests = [item for item in items if is_http_case(item)]
    if browser_tests:
        config.hook.pytest_deselected(items=browser_tests)
        items[:] = [item for item in items if not is_http_case(item)]
