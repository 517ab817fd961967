"""Serving past one process: `python -m deploy.serve` runs N copies of app.py behind nginx.

Imports none of the project's packages (import-linter checks it): replicas are started as
`python app.py` processes, so this package only knows their command line and their port.
"""
