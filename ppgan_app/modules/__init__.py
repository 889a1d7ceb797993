"""Old module paths of this package, kept for one release (see ppgan_app._moved)."""
