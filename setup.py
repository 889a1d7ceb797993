"""Install ppgan_app. Paddle itself is not pinned here so that CPU and GPU builds both fit:
requirements.txt installs the CPU build; GPU users install paddlepaddle-gpu first."""
from setuptools import find_packages, setup

setup(
    name="ppgan_app",
    version="0.1.0",
    description="PaddlePaddle GAN application kit: expression transfer (FOMM) and config-driven GAN training",
    # The top-level configs/ ships inside the package as ppgan_app/configs in a wheel.
    packages=find_packages(include=["ppgan_app", "ppgan_app.*"]) + ["ppgan_app.configs"],
    package_dir={"ppgan_app.configs": "configs"},
    package_data={"ppgan_app": ["assets/*", "apps/web/static/*", "faces/*.json"], "ppgan_app.configs": ["*.yaml"]},
    python_requires=">=3.9",
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "imageio>=2.31",
        "imageio-ffmpeg>=0.4.9",
        "scikit-image>=0.21",
        "pillow>=9",
        "pyyaml>=6.0",
        "tqdm>=4.60",
    ],
    extras_require={"dlib": ["dlib-bin>=19.24"], "yunet": ["yuface>=2023.5"], "test": ["pytest>=7", "nbformat>=5.9", "nbclient>=0.8",
                                                       "ipykernel>=6.25", "ipywidgets>=8.0",
                                                       "selenium>=4.10"]},
    entry_points={"console_scripts": ["ppgan-train=ppgan_app.cli.train:main",
                                      "ppgan-first-order=ppgan_app.cli.first_order:main",
                                      "ppgan-app=ppgan_app.cli.web:main",
                                      "ppgan-motion-dataset=ppgan_app.cli.motion_dataset:main",
                                      "ppgan-live=ppgan_app.cli.live:main"]},
)
