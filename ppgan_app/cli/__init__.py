"""Command-line front ends (thin: parse options, then call the library)."""
