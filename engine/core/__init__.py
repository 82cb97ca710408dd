"""The pure core: rule sets, contracts and measurements as values, and the evaluation of a month.

Everything here is a function of its arguments: no file, no database, no clock, no
process.  (The one exception is durable-rules' registry of compiled rule sets, which is
process-wide by the library's design; ``matching`` contains it.)  The stages of the pipeline are its modules: ``measure`` (exact attainment per
objective), ``matching`` (which rules fire, on durable-rules), ``pricing`` (credits in
money, rounded once) and ``latefees`` (statutory and contractual interest), joined by
``evaluation``.
"""
