"""What-if plan modeling: compare two rule sets, sweep plan parameters (``docs/whatif.md``).

Both share the expensive work: the data is loaded once and credited once per distinct
crediting content (:mod:`engine.whatif.shared`); only the plan calculation runs per variant.
"""
