"""The service network: parties (HQ and partners), coverage, engineers, certifications."""
