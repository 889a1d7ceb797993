"""GAN applications: sampling a trained generator, labelled generated data sets, augmentation experiments, quality (FD/FID)."""
