"""Monthly reports per partner: made by the scheduler on the first working day of a month, kept
with their PDF, read by the partner's administrators and by HQ."""
