"""Faces as the expression-transfer pipeline sees them.

* :mod:`ppgan_app.faces.detectors`: face detectors behind one call signature (PaddleGAN's S3FD and
  BlazeFace on PaddleGAN's weights, dlib's HOG, YuNet) and :func:`build_face_detector`;
* :mod:`ppgan_app.faces.convention`: each detector's box mapped to one reference framing
  (BlazeFace's, as PaddleGAN's detectors frame faces) before PaddleGAN's margin rule;
* :mod:`ppgan_app.faces.crop`: face crop boxes and the driving video's crop squares;
* :mod:`ppgan_app.faces.regions`: each face's own region, so close neighbours are kept out of a
  face's crop and paste-back;
* :mod:`ppgan_app.faces.landmarks`: YuNet's five and dlib's 68 landmarks, and the pose distance
  of ``--find_best_frame``;
* :mod:`ppgan_app.faces.smoothing`: a causal One-Euro filter for driving keypoints;
* ``ppgan_app.faces.enhancement``: GPEN face restoration (``--face_enhancement``).

Nothing is imported here: heavy packages (paddle, dlib, yuface) load when a detector is built.
"""
