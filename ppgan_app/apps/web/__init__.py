"""The expression-transfer web app on Gradio (``ppgan-app``).

:mod:`.app` builds and serves it; one module per tab (:mod:`.animate_tab`, :mod:`.live_tab`,
:mod:`.gan_tab`); :mod:`.form` turns ``TransferOptions`` into the Animate tab's widgets;
:mod:`.options` the server's own options (the Live tab animates frames with live mode's
:class:`~ppgan_app.apps.live.animator.LiveAnimator`); the command line is :mod:`ppgan_app.cli.web`.
"""
