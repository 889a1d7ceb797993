"""Expression transfer with the First Order Motion Model (PaddleGAN's ``FirstOrderPredictor``).

* :mod:`.options`: every option of the predictor, its default, help text and validation (the
  CLI, the notebook API and the checks all read it);
* :mod:`.predictor`: the pipeline (read → detect → crop → animate → composite → write);
* :mod:`.portrait`: a portrait's faces, what the networks see of each (close neighbours filled
  out) and how each is pasted back (neighbours kept out);
* :mod:`.motion`: the driving video's keypoints, computed once and shared by every portrait;
* :mod:`.batch`: many portraits with one video (files, result names, summary table);
* :mod:`.animator`, :mod:`.fomm_animator`: the networks behind a narrow interface;
* :mod:`.composite`: pasting animated faces back with feathered masks.

Faces (detectors, crops, landmarks, smoothing) live in :mod:`ppgan_app.faces`; video reading and
writing in :mod:`ppgan_app.media.video`.
"""
from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor, RunSummary

__all__ = ["FirstOrderPredictor", "RunSummary"]
