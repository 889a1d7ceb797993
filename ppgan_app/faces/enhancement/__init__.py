"""Face enhancement: GPEN restoration of face crops (PaddleGAN's ``FaceEnhancement``)."""
from ppgan_app.faces.enhancement.enhancer import FaceEnhancer
from ppgan_app.faces.enhancement.gpen import GPEN

__all__ = ["FaceEnhancer", "GPEN"]
