"""The oversight indicators. In: staging, entities and links, the parameters and an as-of date.
Out: the marts (`marts.contract_oversight`, `supplier_concentration`, `buyer_scorecard` and the
rest), built by the SQL beside `indicators.py`, one file per mart family. Imports the core.
"""
