"""Evaluation: each stage measured against real published files (`../shared/data/real`, checked
by hash in `real_files`) and hand-made labels in `tests/fixtures/`. In: those files and labels.
Out: precision, recall and confusion tables for supplier resolution (`label_eval`), payee classes
(`payee_eval`), payment-to-contract links (`link_eval`) and onboarding proposals
(`onboard_eval`); `evaluate` (`make evaluate`) runs the pipeline's stages on the real files.
Kept apart, after every layer it measures, so no pipeline module imports it.
"""
