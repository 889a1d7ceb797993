"""ppgan_app: PaddlePaddle GAN application kit (PaddleGAN-compatible).

Importing the package changes no global state: device, seed and threads are set by the
entry points (``tools/main.py``, ``applications/tools/*.py``).
"""
__version__ = "0.1.0"
