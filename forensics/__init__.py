"""forensics: runner logs -> one timeline -> five hypotheses weighed -> RCA report.

Pipeline (one module per stage, data flows one way):
    sources -> records -> events -> timeline -> verdict -> render
forensics imports nothing from e2e or fixtures; everything it knows about the
platform lives in its data files (forensics/data/*.toml).
"""

__version__ = "0.1.0"
