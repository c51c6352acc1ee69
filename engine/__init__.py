"""icm-engine: an exact, explainable incentive compensation calculation engine.

The pipeline is visible in :mod:`engine.pipeline`; the data contract in
:mod:`engine.contract`; see ``docs/architecture.md`` for where each rule is applied.
"""

__version__ = "0.1.0"
