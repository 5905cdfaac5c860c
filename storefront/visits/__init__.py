"""Visits (the LandingPageSession) and their event log: every domain above reads them."""
