"""Sign-in, users and roles, API tokens, and the one helper that decides what a user may see."""
