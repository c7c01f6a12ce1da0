"""Entities and links. In: the staging tables (contracts, spend, notices). Out: contract registers
matched to notices (`matching`, `staging.contract_matches`), resolved suppliers and buyers
(`entities.*`, from `names`, `payees` and `entities`, stored by `resolution`) and payments linked
to contracts (`links.spend_contract`). The SQL beside the modules is run by them. Imports the core.
"""
