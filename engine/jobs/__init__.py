"""The jobs users run: the monthly run, evaluating a book, loading files, the demo, and writing documents out.

They read files and the store, run the pipeline in worker processes (``processes``), and
keep in one process what must happen in order (document numbers, the audit chain).
"""
