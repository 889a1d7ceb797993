"""Media: reading and writing videos and pictures (ffmpeg through imageio-ffmpeg), below faces, datasets and apps."""
