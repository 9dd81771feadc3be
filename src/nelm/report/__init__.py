"""Outputs of ``nelm run``: the results JSON, the HTML/PDF report, DICOM export, de-identification."""
