"""Product settings (thresholds with defaults), SLA policies and the working calendar."""
