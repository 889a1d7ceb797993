"""Weight files: the one reader (:mod:`.reader`: read, compare with a network, load strictly)
and the one FOMM loading path (:mod:`.fomm`: :func:`~ppgan_app.weights.fomm.load_fomm`).

This room sits above ``models`` (it builds and fills their networks) and below ``engine``,
``inference``, ``faces`` and ``apps`` (which call it). Importing the package imports neither
submodule, so the engine can use the reader without importing the FOMM networks.
"""
