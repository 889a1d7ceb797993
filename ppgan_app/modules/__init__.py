"""Network building blocks shared by models (pure ``paddle.nn`` code, no I/O)."""
