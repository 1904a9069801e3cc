"""Task models (one module per task); all save and load through :mod:`nmrlens.models.checkpoint`."""
