"""Live expression transfer: a camera (or a video played as one) drives a portrait in real time.

:class:`~ppgan_app.apps.live.pipeline.LivePipeline` runs capture, keypoints, generator and
output in their own threads joined by one-slot queues that drop the older frame when a stage
falls behind (:class:`~ppgan_app.apps.live.slots.LatestSlot`), so latency never grows; each
frame is animated by :class:`~ppgan_app.apps.live.animator.LiveAnimator`, which the web app's
Live tab calls too; the options are :class:`~ppgan_app.apps.live.options.LiveOptions`. The
command line is ``applications/tools/first-order-live.py`` (``ppgan-live``).
"""
