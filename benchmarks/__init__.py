"""genart's benchmarks, a package so the scripts share ``benchmarks.common`` and ``benchmarks.dcgan``
without path tricks. Run each from the repository root: ``python -m benchmarks.NAME --help``
(the list, with what each measures: benchmarks/README.md)."""
