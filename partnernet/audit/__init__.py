"""The push-back audit: measures per partner and period, runs, findings and decisions."""
