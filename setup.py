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
    package_data={"ppgan_app": ["assets/*", "faces/*.json"], "ppgan_app.configs": ["*.yaml"]},
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
    extras_require={"web": ["gradio>=6.0,<7", "gradio_client>=2.0,<3"], "dlib": ["dlib-bin>=19.24"], "yunet": ["yuface>=2023.5"], "test": ["pytest>=7", "nbformat>=5.9", "nbclient>=0.8",
                                                       "ipykernel>=6.25", "ipywidgets>=8.0",
                                                       "selenium>=4.10"]},
    # One console script per front end in tools/ and applications/tools/ (each is a thin
    # main(argv=None)); tools/face_crop_convention.py is a developer tool and is not installed.
    entry_points={"console_scripts": [
        "ppgan-train=ppgan_app.cli.train:main",                      # tools/main.py
        "ppgan-generate=ppgan_app.cli.generate:main",                # tools/generate.py
        "ppgan-gan-quality=ppgan_app.cli.quality:quality_main",      # tools/gan_quality.py
        "ppgan-train-classifier=ppgan_app.cli.quality:train_classifier_main",
        "ppgan-evaluate-fomm=ppgan_app.cli.evaluate_fomm:main",      # tools/evaluate_fomm.py
        "ppgan-export-model=ppgan_app.cli.export_model:main",        # tools/export_model.py
        "ppgan-motion-dataset=ppgan_app.cli.motion_dataset:main",    # tools/make_motion_dataset.py
        "ppgan-first-order=ppgan_app.cli.first_order:main",          # first-order-demo.py
        "ppgan-app=ppgan_app.cli.web:main",                          # web-demo.py
        "ppgan-live=ppgan_app.cli.live:main",                        # first-order-live.py
        "ppgan-super-resolution=ppgan_app.cli.super_resolution:main",  # super_resolution.py
        "ppgan-evaluate-sr=ppgan_app.cli.evaluate_sr:main",          # tools/evaluate_sr.py
        "ppgan-augmentation-experiment=ppgan_app.cli.augmentation_experiment:main",
    ]},
)
