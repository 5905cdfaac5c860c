"""Admin screen: promotions (being built)."""
