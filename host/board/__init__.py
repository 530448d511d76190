"""A MicroPython board from the host's side: which files go on it, how they are built, the
raw REPL that reaches it, the code run on it, and the steps of ``sealcam flash``."""
