# BackOps Procurement — see README.md
.PHONY: run test bench setup test-odoo screenshots lint format pot lifecycle

run:    ## set up, create or reuse the demo database, start Odoo on 127.0.0.1:8069
	@bash scripts/backops.sh run

test:   ## set up, run the whole test suite on a fresh database
	@bash scripts/backops.sh test

bench:  ## set up, run the benchmarks under bench/
	@bash scripts/backops.sh bench

setup:  ## install what is missing, nothing else
	@bash scripts/backops.sh setup

test-odoo:  ## Odoo's own purchase/sale suites with the addon installed (about 8 minutes)
	@bash scripts/backops.sh test-odoo

screenshots:  ## regenerate docs/*.png from a fresh demo database with Chromium (about 3 minutes)
	@bash scripts/backops.sh screenshots

lint:   ## ruff, pylint-odoo, prettier (XML); the .pot is current; the wheel builds and installs
	@bash scripts/backops.sh lint

format: ## rewrite the files as `make lint` wants them (ruff --fix, ruff format, prettier)
	@bash scripts/backops.sh format

pot:    ## export backops_procurement/i18n/backops_procurement.pot with Odoo's exporter
	@bash scripts/backops.sh pot

lifecycle:  ## uninstall the addon and upgrade the previous version on scratch databases (a few minutes)
	@bash scripts/backops.sh lifecycle
