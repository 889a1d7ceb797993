"""Face utilities: detectors, landmarks, crop convention and enhancement."""
