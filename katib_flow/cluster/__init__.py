"""The cluster driver: the steps a compiled Argo Workflow runs, over the same engine as the local runner.

The step functions live in :mod:`katib_flow.cluster.steps`; this package imports nothing on its own, so
``katib-flow step ...`` and ``katib-flow --help`` load only what the command at hand needs.
"""
