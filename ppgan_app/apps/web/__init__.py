"""The expression-transfer web app: a static page, a JSON API and one worker (``ppgan-app``).

:mod:`.jobs` holds uploads and the job queue, :mod:`.server` the HTTP routes; the command line
is :mod:`ppgan_app.cli.web`.
"""
