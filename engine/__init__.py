"""slabill's engine: from rule sets, contracts and measurements to recorded, replayable evaluations.

The folders are layers, and imports run one way, from the top down (import-linter
checks it; README.md, "Layers", draws them beside the pipeline's stages):

* ``cli``: the command line: parses, calls one function, prints;
* ``jobs``: what users run: the monthly run, evaluating a book, loading, the demo, and
  writing documents and reports out;
* ``audit``: evaluation records, and verifying, replaying and exporting them;
* ``store``: the database (all of slabill's SQL);
* ``loading``: rule-set, rate-table, contract and measurement files, read and checked;
* ``processes``: worker processes for the jobs and the audit;
* ``core``: the pure pipeline: measure, match, price, late fees, one evaluation.  It reads
  no file, no database and no clock (``clock``, read only by the command line).

``invoices`` (documents, their wording and renderings) stands beside the engine: it is
built on the core alone, and only the jobs and the command line use it.

"""

__version__ = "0.2.0"
