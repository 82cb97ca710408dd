"""slabill's engine: from rule sets, contracts and measurements to recorded, replayable evaluations.

The folders are the pipeline's stages, and imports run one way, from the top down
(import-linter checks it; README.md, "Layers", draws it):

* ``cli``: the command line: parses, calls one function, prints;
* ``jobs``: what users run: the monthly run, evaluating a book, the demo, loading;
* ``audit``: evaluation records, and verifying, replaying and exporting them;
* ``store``: the database (all of slabill's SQL);
* ``loading``: rule-set, rate-table, contract and measurement files, read and checked;
* ``processes``: worker processes for the jobs and the audit;
* ``core``: the pure pipeline: measure, match, price, late fees, one evaluation.  It reads
  no file, no database and no clock (``clock``, read only by the command line).

What the customer receives (documents, their numbers and renderings) is ``invoices``,
beside the engine, built on the core alone.
"""

__version__ = "0.2.0"
