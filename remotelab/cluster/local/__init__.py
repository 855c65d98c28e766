"""A whole lab on one machine (make cluster) and the private servers it runs."""
