"""Shadow calculation: reconcile the engine's results with a vendor system's results.

:mod:`engine.reconcile.mapping` declares how a vendor export's columns map onto our grains,
:mod:`engine.reconcile.vendor` reads the export exactly, :mod:`engine.reconcile.ours` shapes a
run's results at the same grains, :mod:`engine.reconcile.compare` finds the breaks and
:mod:`engine.reconcile.causes` their probable causes; :mod:`engine.reconcile.report` writes them.
"""
