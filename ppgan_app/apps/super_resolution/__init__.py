"""Super-resolution: PaddleGAN's SR networks and weights, tiled upscaling of pictures and videos,
and held-out evaluation against bicubic and nearest-neighbour upscaling."""
from ppgan_app.apps.super_resolution.evaluation import evaluate_folder
from ppgan_app.apps.super_resolution.networks import PRESETS, SRNetwork, load_sr_network
from ppgan_app.apps.super_resolution.predictor import RealSRPredictor, SuperResolutionPredictor
from ppgan_app.apps.super_resolution.upscaler import Upscaler

__all__ = ["PRESETS", "RealSRPredictor", "SRNetwork", "SuperResolutionPredictor", "Upscaler",
           "evaluate_folder", "load_sr_network"]
